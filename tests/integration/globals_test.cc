// Globals and cluster backups, their restores, and `roles reset-passwords`, against a real
// server: roles (attributes, memberships, settings, an awkward name), a tablespace, no
// password ever stored or printed, passwords set from the environment and from a file.
// Roles are cluster-wide, so every test names its own (the cluster is this binary's own).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/process.h"
#include "harness/harness.h"
#include "pg/conninfo.h"
#include "pg/quote.h"

namespace pgk::test {

namespace {

const std::string kKey(64, 'c');

std::string NewName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::string Server() { return UrlWithPassword("postgres"); }

void Sql(const std::string& db, const std::string& sql) {
  auto conn = Connect(db);
  Status s = conn.Exec(sql);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

std::string Q(const std::string& ident) { return pg::QuoteIdent(ident); }
std::string L(const std::string& text) { return pg::QuoteLiteral(text); }

// The stored SCRAM verifier (or "<none>"): equal before and after means untouched.
std::string StoredPassword(const std::string& role) {
  return QueryValue("postgres", "SELECT coalesce(rolpassword, '<none>') FROM pg_authid WHERE rolname = " + L(role));
}

bool CanLogin(const std::string& role, const std::string& password) {
  auto settings = pg::ParseConninfo(ConnInfo("postgres"));
  if (!settings.ok()) return false;
  (*settings)["user"] = role;
  (*settings)["password"] = password;
  return pg::Connection::Connect(pg::BuildConninfo(*settings)).ok();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string WriteSecretFile(const std::string& name, const std::string& text, mode_t mode) {
  std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

// Every byte the repository stores, concatenated (to grep for secrets).
std::string AllStoredBytes(const std::string& repo) {
  std::string all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo))
    if (e.is_regular_file()) all += ReadAll(e.path().string());
  return all;
}

// A directory the server's user owns, outside this binary's private temp dir (which the
// server, running as `postgres` under root, cannot reach).
std::string TablespaceDir() {
  std::string dir = "/tmp/pgk-ts-" + NewName("globals");
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  if (IsRoot()) {
    auto pg = LookupUser("postgres");
    EXPECT_TRUE(pg.ok());
    if (pg.ok()) {
      EXPECT_EQ(::chown(dir.c_str(), pg->uid, pg->gid), 0);
    }
  }
  return dir;
}

void ExpectNoSecret(const CliResult& r, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    EXPECT_EQ(r.out.find(s), std::string::npos) << "stdout leaks a password: " << r.out;
    EXPECT_EQ(r.err.find(s), std::string::npos) << "stderr leaks a password: " << r.err;
  }
}

}  // namespace

TEST(Globals, BackupRestoreRolesAndTablespaceWithoutPasswords) {
  std::string reader = NewName("gl_reader");
  std::string app = NewName("gl_app");
  std::string weird = "Gl wéird;\"x:" + NewName("r");
  std::string ts = NewName("gl_ts");
  std::string ts_dir = TablespaceDir();
  std::string old_app = "old-app-secret-" + NewName("p");
  std::string old_weird = "old-weird-secret-" + NewName("p");
  Sql("postgres", "CREATE ROLE " + Q(reader) + " NOLOGIN; COMMENT ON ROLE " + Q(reader) + " IS 'read; only'");
  Sql("postgres", "CREATE ROLE " + Q(app) + " LOGIN CREATEDB CONNECTION LIMIT 7 PASSWORD " + L(old_app));
  Sql("postgres", "CREATE ROLE " + Q(weird) + " LOGIN PASSWORD " + L(old_weird));
  Sql("postgres", "GRANT " + Q(reader) + " TO " + Q(app) + ", " + Q(weird) + "; ALTER ROLE " + Q(app) +
                      " SET statement_timeout = '5s'");
  Sql("postgres", "CREATE TABLESPACE " + Q(ts) + " OWNER " + Q(app) + " LOCATION " + L(ts_dir));
  std::vector<std::string> secrets = {old_app, old_weird};

  std::map<std::string, std::string> env = {{"PGKEEPER_ENCRYPTION_KEY", kKey}};
  std::string repo = TempPath("repo_globals");
  auto b = RunCli({"backup", "--type", "globals", "--db", Server(), "--repo", repo, "--json"}, env);
  ASSERT_EQ(b.exit_code, 0) << b.All();
  ExpectNoSecret(b, secrets);
  std::string id = b.Json()["id"];
  EXPECT_EQ(id.back(), 'G');
  EXPECT_GE(b.Json()["roles"].get<int>(), 4);
  EXPECT_GE(b.Json()["tablespaces"].get<int>(), 1);
  EXPECT_EQ(b.Json()["encrypted"], true);
  auto human = RunCli({"backup", "--type", "globals", "--db", Server(), "--repo", repo}, env);
  ASSERT_EQ(human.exit_code, 0) << human.All();
  EXPECT_NE(human.out.find("(globals)"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("reset-passwords"), std::string::npos) << human.out;

  // Neither the stored files nor the decrypted script hold a password or a verifier.
  std::string stored = AllStoredBytes(repo);
  for (const auto& s : secrets) EXPECT_EQ(stored.find(s), std::string::npos);
  std::string dir = TempPath("globals_export");
  auto ex = RunCli({"backups", "export", id, dir, "--repo", repo}, env);
  ASSERT_EQ(ex.exit_code, 0) << ex.All();
  std::string script = ReadAll(dir + "/" + id + ".sql");
  EXPECT_NE(script.find("CREATE ROLE " + Q(weird) + ";"), std::string::npos) << script;
  EXPECT_NE(script.find("CREATE ROLE " + app + ";"), std::string::npos);
  EXPECT_NE(script.find("CREATE TABLESPACE " + ts), std::string::npos);
  for (const auto& s : secrets) EXPECT_EQ(script.find(s), std::string::npos);
  EXPECT_EQ(script.find("SCRAM-SHA-256"), std::string::npos);
  EXPECT_EQ(script.find("PASSWORD"), std::string::npos);

  // The repository's other commands know the type.
  auto list = RunCli({"backups", "list", "--repo", repo, "--json"}, env);
  ASSERT_EQ(list.exit_code, 0) << list.All();
  EXPECT_EQ(list.Json()["backups"][0]["type"], "globals");
  auto verify = RunCli({"verify", id, "--repo", repo, "--json"}, env);
  EXPECT_EQ(verify.exit_code, 0) << verify.All();
  auto drill = RunCli({"drill", id, "--repo", repo, "--target", "server", "--db", Server()}, env);
  EXPECT_EQ(drill.exit_code, 2) << drill.All();
  EXPECT_NE(drill.err.find("globals backup"), std::string::npos) << drill.err;
  auto into = RunCli({"restore", id, "--db", Server(), "--repo", repo, "--into", "x"}, env);
  EXPECT_EQ(into.exit_code, 2) << into.All();

  // Disaster: the roles and the tablespace are gone.
  Sql("postgres", "DROP TABLESPACE " + Q(ts));  // not in a transaction: a statement of its own
  Sql("postgres", "DROP ROLE " + Q(weird) + ", " + Q(app) + ", " + Q(reader));
  auto r = RunCli({"restore", id, "--db", Server(), "--repo", repo, "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  ExpectNoSecret(r, secrets);
  auto g = r.Json()["globals"];
  auto has = [](const nlohmann::json& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  EXPECT_TRUE(has(g["roles_created"], app)) << g.dump();
  EXPECT_TRUE(has(g["roles_created"], reader));
  EXPECT_TRUE(has(g["roles_created"], weird));
  EXPECT_TRUE(has(g["roles_existing"], "postgres"));
  EXPECT_TRUE(has(g["tablespaces_created"], ts));

  EXPECT_EQ(QueryValue("postgres",
                       "SELECT rolcanlogin::text || rolcreatedb::text || rolconnlimit FROM pg_roles "
                       "WHERE rolname = " +
                           L(app)),
            "truetrue7");
  EXPECT_EQ(QueryValue("postgres", "SELECT rolcanlogin::text FROM pg_roles WHERE rolname = " + L(reader)), "false");
  EXPECT_EQ(QueryValue("postgres",
                       "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                       "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = " +
                           L(reader) + " AND u.rolname IN (" + L(app) + ", " + L(weird) + ")"),
            "2");
  EXPECT_EQ(QueryValue("postgres", "SELECT array_to_string(rolconfig, ',') FROM pg_roles WHERE rolname = " + L(app)),
            "statement_timeout=5s");
  EXPECT_EQ(
      QueryValue("postgres", "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = " + L(reader)),
      "read; only");
  EXPECT_EQ(QueryValue("postgres",
                       "SELECT pg_get_userbyid(spcowner) || ' ' || pg_tablespace_location(oid) "
                       "FROM pg_tablespace WHERE spcname = " +
                           L(ts)),
            app + " " + ts_dir);
  EXPECT_EQ(StoredPassword(app), "<none>");
  EXPECT_FALSE(CanLogin(app, old_app));

  // Passwords from the environment: PREFIX + the role name in upper case.
  std::string new_app = "new-app-secret-" + NewName("p");
  std::string prefix = "GLT_PW_";
  std::string var = prefix + app;
  std::transform(var.begin(), var.end(), var.begin(), [](unsigned char c) { return std::toupper(c); });
  auto reset = RunCli({"roles", "reset-passwords", "--from-env", prefix, "--db", Server(), "-vv"}, {{var, new_app}});
  ASSERT_EQ(reset.exit_code, 0) << reset.All();
  EXPECT_NE(reset.out.find(app), std::string::npos) << reset.out;
  ExpectNoSecret(reset, {new_app});
  EXPECT_TRUE(CanLogin(app, new_app));
  EXPECT_EQ(StoredPassword(app).rfind("SCRAM-SHA-256$", 0), 0u);

  // Restoring again over existing roles: attributes re-applied, passwords untouched.
  std::string before = StoredPassword(app);
  Sql("postgres", "ALTER ROLE " + Q(app) + " CONNECTION LIMIT 1");
  r = RunCli({"restore", id, "--db", Server(), "--repo", repo, "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_TRUE(has(r.Json()["globals"]["roles_existing"], app)) << r.out;
  EXPECT_TRUE(has(r.Json()["globals"]["tablespaces_existing"], ts)) << r.out;
  EXPECT_EQ(StoredPassword(app), before);
  EXPECT_TRUE(CanLogin(app, new_app));
  EXPECT_EQ(QueryValue("postgres", "SELECT rolconnlimit FROM pg_roles WHERE rolname = " + L(app)), "7");
  auto text = RunCli({"restore", id, "--db", Server(), "--repo", repo}, env);
  ASSERT_EQ(text.exit_code, 0) << text.All();
  EXPECT_NE(text.out.find("passwords untouched"), std::string::npos) << text.out;

  // Roles only: a tablespace whose directory is gone does not stop the roles.
  Sql("postgres", "DROP TABLESPACE " + Q(ts));
  Sql("postgres", "DROP ROLE " + Q(weird));
  std::filesystem::remove_all(ts_dir);
  auto bad = RunCli({"restore", id, "--db", Server(), "--repo", repo}, env);
  EXPECT_EQ(bad.exit_code, 3) << bad.All();
  EXPECT_NE(bad.err.find("the roles were restored"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("--no-tablespaces"), std::string::npos) << bad.err;
  Sql("postgres", "DROP ROLE " + Q(weird));
  auto roles_only = RunCli({"restore", id, "--db", Server(), "--repo", repo, "--no-tablespaces", "--json"}, env);
  ASSERT_EQ(roles_only.exit_code, 0) << roles_only.All();
  EXPECT_TRUE(has(roles_only.Json()["globals"]["roles_created"], weird));
  EXPECT_TRUE(roles_only.Json()["globals"]["tablespaces_created"].empty());
  EXPECT_EQ(QueryValue("postgres", "SELECT count(*) FROM pg_tablespace WHERE spcname = " + L(ts)), "0");
}

TEST(Globals, ResetPasswordsFromFile) {
  std::string app = NewName("rp_app");
  std::string weird = "Rp \"Odd\": " + NewName("r");
  Sql("postgres", "CREATE ROLE " + Q(app) + " LOGIN; CREATE ROLE " + Q(weird) + " LOGIN");
  std::string pw_app = "file app secret: " + NewName("p");  // spaces and a colon
  std::string pw_weird = "weird#secret\\" + NewName("p");
  std::string quoted = "\"Rp \"\"Odd\"\": " + weird.substr(std::string("Rp \"Odd\": ").size()) + "\"";
  std::string good = "# restored roles\n" + app + ":" + pw_app + "\n" + quoted + ":" + pw_weird + "\n";
  std::vector<std::string> secrets = {pw_app, pw_weird};
  auto reset = [&](const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"roles", "reset-passwords", "--file", file, "--db", Server()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunCli(args);
    ExpectNoSecret(r, secrets);
    return r;
  };

  // Readable by others: refused before anything is read.
  std::string open_file = WriteSecretFile("pw_open.txt", good, 0644);
  auto r = reset(open_file);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("accessible by group or others (mode 0644)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_EQ(StoredPassword(app), "<none>");

  // A malformed line: the error names it, and nothing changes (not even the good line).
  std::string malformed = WriteSecretFile("pw_bad.txt", app + ":" + pw_app + "\n" + pw_weird + "\n", 0600);
  r = reset(malformed);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("pw_bad.txt line 2"), std::string::npos) << r.err;
  EXPECT_EQ(StoredPassword(app), "<none>");

  // A role that does not exist: an error unless --ignore-missing, and nothing changes.
  std::string missing_role = NewName("rp_missing");
  std::string with_missing = WriteSecretFile("pw_missing.txt", good + missing_role + ":x\n", 0600);
  r = reset(with_missing);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find(missing_role), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no password was changed"), std::string::npos) << r.err;
  EXPECT_EQ(StoredPassword(app), "<none>");

  // Dry run: checked, not changed.
  std::string file = WriteSecretFile("pw_good.txt", good, 0600);
  r = reset(file, {"--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(StoredPassword(app), "<none>");

  r = reset(file, {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["set"].size(), 2u) << r.out;
  EXPECT_TRUE(CanLogin(app, pw_app));
  EXPECT_TRUE(CanLogin(weird, pw_weird));
  // Twice is fine: the same passwords, new salts.
  r = reset(file);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_TRUE(CanLogin(app, pw_app));
  EXPECT_TRUE(CanLogin(weird, pw_weird));

  r = reset(with_missing, {"--ignore-missing", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["missing"], nlohmann::json::array({missing_role}));
  EXPECT_EQ(r.Json()["set"].size(), 2u);

  // Neither a source nor two sources.
  auto none = RunCli({"roles", "reset-passwords", "--db", Server()});
  EXPECT_EQ(none.exit_code, 2) << none.All();
  auto empty_env = RunCli({"roles", "reset-passwords", "--from-env", "NO_SUCH_PREFIX_", "--db", Server()});
  EXPECT_EQ(empty_env.exit_code, 2) << empty_env.All();
}

TEST(Globals, ClusterBackupRestoresEveryDatabase) {
  std::string owner = NewName("cl_owner");
  Sql("postgres", "CREATE ROLE " + Q(owner) + " NOLOGIN");
  std::string db1 = CreateExampleDatabase("cl_one", 150);
  std::string db2 = CreateDatabase("cl_two");
  Sql(db2,
      "CREATE TABLE \"Odd Table\" (id int PRIMARY KEY, v text); "
      "INSERT INTO \"Odd Table\" SELECT g, md5(g::text) FROM generate_series(1, 321) g; "
      "CREATE SEQUENCE s; SELECT setval('s', 42); ALTER TABLE \"Odd Table\" OWNER TO " +
          Q(owner));
  // Database-level properties live in shared catalogs, outside pg_dump's sections.
  Sql("postgres", "ALTER DATABASE " + Q(db2) + " OWNER TO " + Q(owner) + "; ALTER DATABASE " + Q(db2) +
                      " SET work_mem = '7MB'; REVOKE CONNECT ON DATABASE " + Q(db2) +
                      " FROM PUBLIC; GRANT CONNECT ON DATABASE " + Q(db2) + " TO " + Q(owner) +
                      "; COMMENT ON DATABASE " + Q(db2) + " IS 'the odd one'");
  auto props = [](const std::string& db) {
    return QueryValue("postgres",
                      "SELECT pg_get_userbyid(d.datdba) || '|' || array_to_string(s.setconfig, ',') || '|' || "
                      "has_database_privilege('public', d.oid, 'CONNECT') || '|' || shobj_description(d.oid, "
                      "'pg_database') FROM pg_database d LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid "
                      "AND s.setrole = 0 WHERE d.datname = " +
                          pg::QuoteLiteral(db));
  };
  ASSERT_EQ(props(db2), owner + "|work_mem=7MB|false|the odd one");

  std::map<std::string, std::string> env = {{"PGKEEPER_ENCRYPTION_KEY", kKey}};
  std::string repo = TempPath("repo_cluster");
  auto b = RunCli({"backup", "--type", "cluster", "--db", Server(), "--repo", repo, "--jobs", "2", "--json"}, env);
  ASSERT_EQ(b.exit_code, 0) << b.All();
  std::string id = b.Json()["id"];
  EXPECT_EQ(id.back(), 'C');
  nlohmann::json backup = b.Json();
  std::vector<std::string> names;
  for (const auto& d : backup["databases"]) names.push_back(d["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), db1), names.end()) << b.out;
  EXPECT_NE(std::find(names.begin(), names.end(), db2), names.end()) << b.out;
  EXPECT_NE(std::find(names.begin(), names.end(), "postgres"), names.end()) << b.out;

  // Non-destructive: the databases exist here, so nothing at all is done.
  std::string count = "SELECT count(*) FROM pg_database";
  std::string databases_before = QueryValue("postgres", count);
  auto refused = RunCli({"restore", id, "--db", Server(), "--repo", repo}, env);
  EXPECT_EQ(refused.exit_code, 2) << refused.All();
  EXPECT_NE(refused.err.find("already exist"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--prefix"), std::string::npos) << refused.err;
  EXPECT_EQ(QueryValue("postgres", count), databases_before);
  auto latest_logical = RunCli({"restore", "--db", Server(), "--repo", repo, "--into", "x"}, env);
  EXPECT_EQ(latest_logical.exit_code, 2) << latest_logical.All();  // latest means logical: none here

  // A fresh mapping: every database under a prefix, counts checked, data identical.
  std::string prefix = NewName("r") + "_";
  auto r = RunCli(
      {"restore", "latest", "--type", "cluster", "--db", Server(), "--repo", repo, "--prefix", prefix, "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["counts_match"], true) << r.out;
  EXPECT_EQ(r.Json()["databases"].size(), names.size());
  EXPECT_TRUE(r.Json()["globals"]["roles_existing"].size() >= 2) << r.out;
  EXPECT_EQ(TableFingerprints(prefix + db1), TableFingerprints(db1));
  EXPECT_EQ(TableFingerprints(prefix + db2), TableFingerprints(db2));
  EXPECT_EQ(QueryValue(prefix + db2, "SELECT last_value FROM s"), "42");
  EXPECT_EQ(QueryValue(prefix + db2, "SELECT tableowner FROM pg_tables WHERE tablename = 'Odd Table'"), owner);
  EXPECT_EQ(QueryValue(prefix + db1, "SELECT count(*) FROM positions"), "150");
  EXPECT_EQ(props(prefix + db2), props(db2));

  // One database under a new name, without the globals.
  std::string single = NewName("cl_single");
  r = RunCli({"restore", id, "--db", Server(), "--repo", repo, "--only", db2, "--into", single, "--no-globals"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("all counts match"), std::string::npos) << r.out;
  EXPECT_EQ(TableFingerprints(single), TableFingerprints(db2));
  EXPECT_EQ(props(single), props(db2));
  auto unknown = RunCli({"restore", id, "--db", Server(), "--repo", repo, "--only", "nope", "--into", "y"}, env);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.All();

  // The other commands: list, show, verify (every database's files), expire, export, drill.
  auto list = RunCli({"backups", "list", "--repo", repo}, env);
  ASSERT_EQ(list.exit_code, 0) << list.All();
  EXPECT_NE(list.out.find(std::to_string(names.size()) + " databases"), std::string::npos) << list.out;
  auto show = RunCli({"backups", "show", id, "--repo", repo}, env);
  ASSERT_EQ(show.exit_code, 0) << show.All();
  EXPECT_NE(show.out.find(db2), std::string::npos) << show.out;
  auto verify = RunCli({"verify", id, "--repo", repo, "--json"}, env);
  ASSERT_EQ(verify.exit_code, 0) << verify.All();
  EXPECT_GT(verify.Json()["files"].get<int>(), static_cast<int>(names.size()) * 2);
  auto expire = RunCli({"expire", "--repo", repo, "--keep-last", "1", "--dry-run", "--json"}, env);
  EXPECT_EQ(expire.exit_code, 0) << expire.All();
  auto exported = RunCli({"backups", "export", id, TempPath("cluster_export"), "--repo", repo}, env);
  EXPECT_EQ(exported.exit_code, 2) << exported.All();
  auto drill = RunCli({"drill", id, "--repo", repo, "--target", "server", "--db", Server()}, env);
  EXPECT_EQ(drill.exit_code, 2) << drill.All();
  EXPECT_NE(drill.err.find("cluster backup"), std::string::npos) << drill.err;

  // A corrupted file of one database: refused before anything is created.
  std::string victim;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo + "/backups/" + id + "/db"))
    if (e.is_regular_file() && e.path().string().find(".copy") != std::string::npos) victim = e.path().string();
  ASSERT_FALSE(victim.empty());
  { std::ofstream(victim, std::ios::binary | std::ios::app) << "x"; }
  std::string prefix2 = NewName("r") + "_";
  databases_before = QueryValue("postgres", count);
  auto corrupt = RunCli({"restore", id, "--db", Server(), "--repo", repo, "--prefix", prefix2}, env);
  EXPECT_EQ(corrupt.exit_code, 2) << corrupt.All();
  EXPECT_EQ(QueryValue("postgres", count), databases_before);
}

}  // namespace pgk::test
