// `backups export`: the script psql alone restores, compared with the source database;
// encrypted backups export with their key only.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/harness.h"

namespace pgk::test {

namespace {

const std::string kKey(64, 'a');

std::string NewName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::string Backup(const std::string& db, const std::string& repo, const std::map<std::string, std::string>& env = {}) {
  auto r = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  if (r.exit_code != 0) return "";
  return r.Json()["id"].get<std::string>();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Applies `file` to `db` with the cluster's psql; returns psql's exit code, output in `log`.
int Psql(const std::string& db, const std::string& file, std::string* log) {
  std::string out = file + ".psql.log";
  std::string cmd = "PGPASSWORD=" + ShellQuote(Password()) + " " + ShellQuote(Cluster().binaries().Path("psql")) +
                    " -v ON_ERROR_STOP=1 -X -q -h 127.0.0.1 -p " + std::to_string(Cluster().port()) +
                    " -U postgres -d " + ShellQuote(db) + " -f " + ShellQuote(file) + " >" + ShellQuote(out) + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  *log = ss.str();
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ExpectSameData(const std::string& src, const std::string& target) {
  auto expected = TableFingerprints(src);
  ASSERT_GT(expected.size(), 2u);
  EXPECT_EQ(TableFingerprints(target), expected);
  EXPECT_EQ(LargeObjectFingerprint(target), LargeObjectFingerprint(src));
  // Indexes and constraints came with post-data.
  std::string idx = "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'";
  EXPECT_EQ(QueryValue(src, idx), QueryValue(target, idx));
  std::string fks = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'";
  EXPECT_EQ(QueryValue(src, fks), QueryValue(target, fks));
}

}  // namespace

TEST(BackupsExport, PsqlRecreatesTheDatabase) {
  std::string src = CreateExampleDatabase("ex_src", 200);
  ASSERT_EQ(QueryValue(src,
                       "SELECT lo_from_bytea(515151, convert_to(repeat('large object ', 5000), 'UTF8'))::text || "
                       "lo_from_bytea(515152, (SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), "
                       "'hex') FROM generate_series(0, 255) i))::text"),
            "515151515152");
  std::string repo = TempPath("repo_export");
  std::string id = Backup(src, repo);
  ASSERT_FALSE(id.empty());

  std::string dir = TempPath("export_out") + "/nested/dir";
  auto r = RunCli({"backups", "export", "latest", dir, "--repo", repo, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  std::string file = dir + "/" + id + ".sql";
  EXPECT_EQ(r.Json()["path"], file);
  EXPECT_EQ(r.Json()["large_objects"], 2);
  EXPECT_GT(r.Json()["tables"].get<int>(), 2);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(static_cast<uint64_t>(std::filesystem::file_size(file)), r.Json()["bytes"].get<uint64_t>());

  std::string text = ReadAll(file);
  EXPECT_NE(text.find("COPY \"public\".\"positions\" (\"id\", "), std::string::npos);
  EXPECT_NE(text.find("SELECT pg_catalog.lo_open('515151', 131072);"), std::string::npos);
  EXPECT_NE(text.find("SELECT pg_catalog.lowrite(0, '\\x000102"), std::string::npos);
  EXPECT_EQ(text.find(".pgk-tmp"), std::string::npos);
  // pg_dump restricts pre-data and post-data; the data section is restricted likewise.
  auto count = [&](const std::string& needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("\n\\restrict "), 3);
  EXPECT_EQ(count("\n\\unrestrict "), 3);
  for (const auto& e : std::filesystem::directory_iterator(dir)) EXPECT_EQ(e.path().filename().string(), id + ".sql");

  std::string target = NewName("ex_target");
  auto admin = Connect("postgres");
  ASSERT_TRUE(admin.Exec("CREATE DATABASE " + target).ok());
  std::string log;
  ASSERT_EQ(Psql(target, file, &log), 0) << log;
  ExpectSameData(src, target);
  // Sequences continue where the source left off.
  std::string seq =
      "SELECT string_agg(format('%I.%I', schemaname, sequencename) || '=' || coalesce(last_value, 0), ',' "
      "ORDER BY 1) FROM pg_sequences";
  EXPECT_EQ(QueryValue(src, seq), QueryValue(target, seq));

  // The human form names the file.
  auto human = RunCli({"backups", "export", id, TempPath("export_human"), "--repo", repo});
  EXPECT_EQ(human.exit_code, 0) << human.All();
  EXPECT_NE(human.out.find(id + ".sql"), std::string::npos) << human.out;
  // An unknown backup is an error and writes nothing.
  auto missing = RunCli({"backups", "export", "20000101T000000Z-L", TempPath("export_missing"), "--repo", repo});
  EXPECT_EQ(missing.exit_code, 2) << missing.All();
  EXPECT_FALSE(std::filesystem::exists(TempPath("export_missing") + "/20000101T000000Z-L.sql"));
}

TEST(BackupsExport, EncryptedNeedsTheKey) {
  std::string src = CreateExampleDatabase("ex_enc", 50);
  std::string repo = TempPath("repo_export_enc");
  std::map<std::string, std::string> env = {{"PGKEEPER_ENCRYPTION_KEY", kKey}};
  std::string id = Backup(src, repo, env);
  ASSERT_FALSE(id.empty());

  std::string no_key_dir = TempPath("export_enc_nokey");
  auto r = RunCli({"backups", "export", id, no_key_dir, "--repo", repo});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_FALSE(std::filesystem::exists(no_key_dir + "/" + id + ".sql"));
  r = RunCli({"backups", "export", id, no_key_dir, "--repo", repo},
             {{"PGKEEPER_ENCRYPTION_KEY", std::string(64, 'b')}});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("wrong encryption key"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(no_key_dir + "/" + id + ".sql"));

  std::string dir = TempPath("export_enc");
  r = RunCli({"backups", "export", id, dir, "--repo", repo}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  std::string file = dir + "/" + id + ".sql";
  std::string target = NewName("ex_enc_target");
  auto admin = Connect("postgres");
  ASSERT_TRUE(admin.Exec("CREATE DATABASE " + target).ok());
  std::string log;
  ASSERT_EQ(Psql(target, file, &log), 0) << log;
  ExpectSameData(src, target);
}

}  // namespace pgk::test
