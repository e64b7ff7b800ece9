#include "cli/backups_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "common/version.h"
#include "pg/quote.h"
#include "restore/load.h"
#include "restore/script.h"

namespace pgk::cli {

namespace {

constexpr size_t kReadChunk = 256 << 10;
constexpr size_t kFlushAt = 1 << 20;
// pg_dump's plain format writes a large object in LOBBUFSIZE pieces, one lowrite each.
constexpr size_t kLargeObjectPiece = 16384;
// pg_dump writes `\restrict KEY` right after its header comment.
constexpr size_t kRestrictScan = 4096;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IO(what + " " + path + ": " + std::strerror(errno));
}

// The script being written: a temporary file beside the final name, renamed over it by
// Commit() and removed otherwise.
class ScriptWriter {
 public:
  static Result<std::unique_ptr<ScriptWriter>> Create(const std::string& final_path) {
    std::string tmp = final_path + ".pgk-tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("cannot create", tmp);
    // O_CREAT keeps the mode of a leftover temporary file; the script holds the data.
    if (::fchmod(fd, 0600) != 0) {
      Status s = Errno("cannot chmod", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    return std::unique_ptr<ScriptWriter>(new ScriptWriter(fd, tmp, final_path));
  }
  ScriptWriter(const ScriptWriter&) = delete;
  ScriptWriter& operator=(const ScriptWriter&) = delete;
  ~ScriptWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }

  Status Write(std::string_view s) {
    if (s.empty()) return Status::Ok();
    buf_.append(s);
    bytes_ += s.size();
    last_ = s.back();
    return buf_.size() >= kFlushAt ? Flush() : Status::Ok();
  }
  // Ends the current line, so that what follows starts on a line of its own.
  Status EndLine() { return bytes_ == 0 || last_ == '\n' ? Status::Ok() : Write("\n"); }
  uint64_t bytes() const { return bytes_; }

  Status Commit() {
    PGK_RETURN_IF_ERROR(Flush());
    if (::fsync(fd_) != 0) return Errno("cannot fsync", tmp_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Errno("cannot close", tmp_);
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) return Errno("cannot rename to", final_);
    committed_ = true;
    return fs::FsyncDir(std::filesystem::path(final_).parent_path());
  }

 private:
  ScriptWriter(int fd, std::string tmp, std::string final_path)
      : fd_(fd), tmp_(std::move(tmp)), final_(std::move(final_path)) {}

  Status Flush() {
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot write", tmp_);
      }
      off += static_cast<size_t>(n);
    }
    buf_.clear();
    return Status::Ok();
  }

  int fd_;
  std::string tmp_;
  std::string final_;
  std::string buf_;
  uint64_t bytes_ = 0;
  char last_ = '\n';
  bool committed_ = false;
};

// Manifest text inside a `--` comment: a line break would end the comment.
std::string CommentSafe(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// A key for `\restrict` as pg_dump makes them: letters and digits only.
std::string RestrictKey() {
  static constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<size_t> pick(0, kAlnum.size() - 1);
  std::string key;
  for (int i = 0; i < 64; ++i) key += kAlnum[pick(rd)];
  return key;
}

std::vector<const repo::ManifestFile*> FilesOfKind(const repo::Manifest& m, const std::string& kind) {
  std::vector<const repo::ManifestFile*> out;
  for (const auto& f : m.files)
    if (f.kind == kind) out.push_back(&f);
  return out;
}

// Copies one stored file into the script as it is. `head`, when not null, gets the file's
// first kRestrictScan bytes.
Status CopyFile(repo::Repository& repo, const repo::Manifest& m, const repo::ManifestFile& f, const pipeline::Key* key,
                ScriptWriter& out, std::string* head = nullptr) {
  PGK_ASSIGN_OR_RETURN(auto reader, repo.OpenFile(m, f, key));
  std::string chunk(kReadChunk, '\0');
  for (;;) {
    PGK_ASSIGN_OR_RETURN(size_t n, reader->Read(chunk.data(), chunk.size()));
    if (n == 0) break;
    if (head && head->size() < kRestrictScan) head->append(chunk.data(), std::min(n, kRestrictScan - head->size()));
    PGK_RETURN_IF_ERROR(out.Write(std::string_view(chunk.data(), n)));
  }
  return out.EndLine();
}

Result<bool> ReadExactly(storage::Reader& r, char* buf, size_t n, const std::string& name) {
  size_t got = 0;
  while (got < n) {
    PGK_ASSIGN_OR_RETURN(size_t k, r.Read(buf + got, n - got));
    if (k == 0) {
      if (got == 0) return false;
      return Status::Malformed(name + " ends inside a large object record: the backup is corrupted");
    }
    got += k;
  }
  return true;
}

// The large-objects file ([u32 LE oid][u64 LE length][bytes]...) as pg_dump's plain
// format writes large objects: open, lowrite in hex bytea pieces, close, all in one
// transaction. Descriptors are numbered from 0 and freed by lo_close, so the one open
// descriptor is always 0. Objects the pre-data did not create (data-only backups) are
// created first.
Result<int64_t> WriteLargeObjects(repo::Repository& repo, const repo::Manifest& m, const repo::ManifestFile& f,
                                  const pipeline::Key* key, ScriptWriter& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  PGK_ASSIGN_OR_RETURN(auto reader, repo.OpenFile(m, f, key));
  PGK_RETURN_IF_ERROR(out.Write("BEGIN;\n\n"));
  std::string piece(kLargeObjectPiece, '\0');
  std::string line;
  int64_t objects = 0;
  for (;;) {
    unsigned char header[12];
    PGK_ASSIGN_OR_RETURN(bool more, ReadExactly(*reader, reinterpret_cast<char*>(header), sizeof header, f.name));
    if (!more) break;
    uint32_t oid = 0;
    uint64_t length = 0;
    for (int i = 3; i >= 0; --i) oid = (oid << 8) | header[i];
    for (int i = 11; i >= 4; --i) length = (length << 8) | header[i];
    std::string o = "'" + std::to_string(oid) + "'";
    PGK_RETURN_IF_ERROR(
        out.Write("SELECT pg_catalog.lo_create(" + o +
                  ") WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata WHERE oid = " + o + ");\n"));
    PGK_RETURN_IF_ERROR(out.Write("SELECT pg_catalog.lo_open(" + o + ", 131072);\n"));
    for (uint64_t left = length; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, kLargeObjectPiece));
      PGK_ASSIGN_OR_RETURN(bool got, ReadExactly(*reader, piece.data(), n, f.name));
      if (!got) return Status::Malformed(f.name + " ends inside large object " + std::to_string(oid));
      line.assign("SELECT pg_catalog.lowrite(0, '\\x");
      for (size_t i = 0; i < n; ++i) {
        auto b = static_cast<unsigned char>(piece[i]);
        line += kHex[b >> 4];
        line += kHex[b & 0xf];
      }
      line += "');\n";
      PGK_RETURN_IF_ERROR(out.Write(line));
      left -= n;
    }
    PGK_RETURN_IF_ERROR(out.Write("SELECT pg_catalog.lo_close(0);\n\n"));
    ++objects;
  }
  // End of file: the whole file's digests were checked.
  PGK_RETURN_IF_ERROR(out.Write("COMMIT;\n\n"));
  return objects;
}

Status Section(ScriptWriter& out, const std::string& title) {
  PGK_RETURN_IF_ERROR(out.EndLine());
  return out.Write("\n--\n-- " + title + "\n--\n\n");
}

}  // namespace

Result<ExportResult> ExportBackup(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* data_key,
                                  const std::string& dir) {
  if (m.type != "logical" && m.type != "globals")
    return Status::Refused("backup " + m.id + " is a " + m.type + " backup",
                           "logical backups (one database) and globals backups export as a SQL script; restore a "
                           "cluster backup with `pgkeeper restore " + m.id + "`");
  PGK_RETURN_IF_ERROR(fs::MakeDirs(dir, 0700));
  ExportResult result;
  result.path = (std::filesystem::path(dir) / (m.id + ".sql")).string();
  PGK_ASSIGN_OR_RETURN(auto out, ScriptWriter::Create(result.path));
  if (m.type == "globals") {
    // pg_dumpall's script as it is: psql applies it (CREATE ROLE fails for roles that exist,
    // which psql reports and passes over unless ON_ERROR_STOP is set).
    PGK_RETURN_IF_ERROR(out->Write("--\n-- pgkeeper export of globals backup " + CommentSafe(m.id) + ", taken " +
                                   CommentSafe(m.start_time) + " from PostgreSQL " + CommentSafe(m.server_version) +
                                   "\n-- roles and tablespaces, without passwords; apply with psql -X -f " +
                                   CommentSafe(m.id) + ".sql postgres\n--\n"));
    for (const auto* f : FilesOfKind(m, "globals")) PGK_RETURN_IF_ERROR(CopyFile(repo, m, *f, data_key, *out));
    result.bytes = out->bytes();
    PGK_RETURN_IF_ERROR(out->Commit());
    return result;
  }

  PGK_RETURN_IF_ERROR(out->Write("--\n-- pgkeeper export of backup " + CommentSafe(m.id) + "\n-- database " +
                                 CommentSafe(m.database) + ", taken " + CommentSafe(m.start_time) +
                                 " from PostgreSQL " + CommentSafe(m.server_version) + "\n-- written by pgkeeper " +
                                 kVersion +
                                 "\n--\n-- Apply to a new, empty database:\n--   psql -v ON_ERROR_STOP=1 "
                                 "-X -f " +
                                 CommentSafe(m.id) + ".sql NEWDB\n--\n"));

  bool restricted = false;
  for (const auto* f : FilesOfKind(m, "schema-pre")) {
    PGK_RETURN_IF_ERROR(Section(*out, "pre-data: " + CommentSafe(f->name)));
    std::string head;
    PGK_RETURN_IF_ERROR(CopyFile(repo, m, *f, data_key, *out, &head));
    restricted = restricted || head.rfind("\\restrict ", 0) == 0 || head.find("\n\\restrict ") != std::string::npos;
  }

  auto tables = FilesOfKind(m, "table-data");
  auto sequences = FilesOfKind(m, "sequences");
  auto large_objects = FilesOfKind(m, "large-objects");
  if (!tables.empty() || !sequences.empty() || !large_objects.empty()) {
    PGK_RETURN_IF_ERROR(Section(*out, "data"));
    // Like pg_dump, the data is read in restricted mode (psql runs no meta-command found
    // in it but the closing \unrestrict); only when the pg_dump that wrote the pre-data
    // did so too, since older psql versions do not know \restrict.
    std::string key = restricted ? RestrictKey() : "";
    if (restricted) PGK_RETURN_IF_ERROR(out->Write("\\restrict " + key + "\n\n"));
    // What the pre-data sets too; repeated for data-only backups, which have none.
    PGK_RETURN_IF_ERROR(
        out->Write("SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\n"
                   "SET standard_conforming_strings = on;\n"
                   "SELECT pg_catalog.set_config('search_path', '', false);\nSET client_min_messages = warning;\n"));
    for (const auto* f : tables) {
      // Re-rendered from its parts: never anything but a qualified name, whatever the
      // manifest holds.
      PGK_ASSIGN_OR_RETURN(auto parts, restore::SplitQualifiedName(f->table));
      std::string table = pg::QuoteQualified(parts.first, parts.second);
      PGK_RETURN_IF_ERROR(out->Write("\n--\n-- Data for " + CommentSafe(f->table) + " (" + CommentSafe(f->name) +
                                     ")\n--\n\nCOPY " + table + restore::CopyColumnList(*f) + " FROM stdin;\n"));
      PGK_RETURN_IF_ERROR(CopyFile(repo, m, *f, data_key, *out));
      PGK_RETURN_IF_ERROR(out->Write("\\.\n"));
      ++result.tables;
    }
    for (const auto* f : sequences) {
      PGK_RETURN_IF_ERROR(Section(*out, "sequence values: " + CommentSafe(f->name)));
      PGK_RETURN_IF_ERROR(CopyFile(repo, m, *f, data_key, *out));
    }
    for (const auto* f : large_objects) {
      PGK_RETURN_IF_ERROR(Section(*out, "large objects: " + CommentSafe(f->name)));
      PGK_ASSIGN_OR_RETURN(int64_t n, WriteLargeObjects(repo, m, *f, data_key, *out));
      result.large_objects += n;
    }
    if (restricted) PGK_RETURN_IF_ERROR(out->Write("\n\\unrestrict " + key + "\n"));
  }

  for (const auto* f : FilesOfKind(m, "schema-post")) {
    PGK_RETURN_IF_ERROR(Section(*out, "post-data: " + CommentSafe(f->name)));
    PGK_RETURN_IF_ERROR(CopyFile(repo, m, *f, data_key, *out));
  }
  PGK_RETURN_IF_ERROR(out->Write("\n--\n-- pgkeeper export complete\n--\n"));
  result.bytes = out->bytes();
  PGK_RETURN_IF_ERROR(out->Commit());
  return result;
}

}  // namespace pgk::cli
