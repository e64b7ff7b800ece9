#include "restore/load.h"

#include <libpq/libpq-fs.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "pg/quote.h"
#include "restore/script.h"

namespace pgk::restore {

namespace {

std::string PathOf(const repo::Manifest& m, const repo::ManifestFile& f) { return repo::BackupDir(m.id) + f.name; }

// Reads exactly n bytes; false at a clean end of file before the first byte.
Result<bool> ReadExactly(storage::Reader& r, char* buf, size_t n, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    PGK_ASSIGN_OR_RETURN(size_t k, r.Read(buf + got, n - got));
    if (k == 0) {
      if (got == 0) return false;
      return Status::Malformed(path + " ends inside a large object record: the backup is corrupted");
    }
    got += k;
  }
  return true;
}

Status LargeObjectError(pg::Connection& conn, const std::string& what, uint32_t oid) {
  std::string msg = PQerrorMessage(conn.raw());
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return Status::Query("could not " + what + " large object " + std::to_string(oid) + ": " + msg);
}

}  // namespace

Result<std::string> ReadWholeFile(repo::Repository& repo, const repo::Manifest& m, const repo::ManifestFile& f,
                                  const pipeline::Key* data_key) {
  PGK_ASSIGN_OR_RETURN(auto reader, repo.OpenFile(m, f, data_key));
  std::string text;
  text.reserve(f.original_size);
  std::string buf(kCopyChunk, '\0');
  for (;;) {
    PGK_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) break;
    text.append(buf.data(), n);
  }
  return text;
}

Status ApplyScript(pg::Connection& conn, repo::Repository& repo, const repo::Manifest& m, const repo::ManifestFile& f,
                   const pipeline::Key* data_key) {
  PGK_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(repo, m, f, data_key));
  PGK_ASSIGN_OR_RETURN(std::string sql, StripPsqlMetaCommands(text, PathOf(m, f)));
  Status s = conn.Exec(sql);
  if (!s.ok()) return s.WithContext("applying " + f.name);
  return s;
}

std::string CopyColumnList(const repo::ManifestFile& f) {
  std::string list;
  for (const auto& c : f.columns) list += (list.empty() ? "" : ", ") + pg::QuoteIdent(c);
  return list.empty() ? "" : " (" + list + ")";
}

Result<int64_t> CopyIntoTable(pg::Connection& conn, const std::string& table, repo::Repository& repo,
                              const repo::Manifest& m, const repo::ManifestFile& f, const pipeline::Key* data_key,
                              const std::atomic<bool>* stop, const std::function<void(int64_t)>* on_bytes,
                              bool freeze) {
  PGK_ASSIGN_OR_RETURN(auto reader, repo.OpenFile(m, f, data_key));
  std::string chunk(kCopyChunk, '\0');
  std::string sql = "COPY " + table + CopyColumnList(f) + " FROM STDIN" + (freeze ? " WITH (FREEZE)" : "");
  auto rows = conn.CopyIn(sql, [&](std::string& buf) -> Result<bool> {
    if (stop && stop->load()) return Status::Interrupted("stopped loading " + table + " after another table failed");
    PGK_ASSIGN_OR_RETURN(size_t n, reader->Read(chunk.data(), chunk.size()));
    buf.append(chunk.data(), n);
    if (on_bytes && *on_bytes) (*on_bytes)(static_cast<int64_t>(n));
    return n > 0;
  });
  if (!rows.ok()) return rows.status().WithContext("loading " + (f.table.empty() ? table : f.table) + " from " + f.name);
  return rows;
}

Result<int64_t> LoadLargeObjects(pg::Connection& conn, repo::Repository& repo, const repo::Manifest& m,
                                 const repo::ManifestFile& f, const pipeline::Key* data_key) {
  const std::string path = PathOf(m, f);
  PGK_ASSIGN_OR_RETURN(auto reader, repo.OpenFile(m, f, data_key));
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
  std::unique_ptr<char[]> chunk(new char[kLargeObjectChunk]);
  int64_t objects = 0;
  for (;;) {
    unsigned char header[12];
    PGK_ASSIGN_OR_RETURN(bool more, ReadExactly(*reader, reinterpret_cast<char*>(header), sizeof header, path));
    if (!more) break;
    uint32_t oid = 0;
    uint64_t length = 0;
    for (int i = 3; i >= 0; --i) oid = (oid << 8) | header[i];
    for (int i = 11; i >= 4; --i) length = (length << 8) | header[i];
    // pre-data creates every large object (lo_create); create the ones it did not, so a
    // backup whose schema lacks them still restores their contents.
    PGK_ASSIGN_OR_RETURN(auto exists, conn.Query("SELECT 1 FROM pg_catalog.pg_largeobject_metadata WHERE oid = $1",
                                                 {std::to_string(oid)}));
    if (exists.rows() == 0 && lo_create(conn.raw(), oid) == InvalidOid) return LargeObjectError(conn, "create", oid);
    int fd = lo_open(conn.raw(), oid, INV_WRITE);
    if (fd < 0) return LargeObjectError(conn, "open", oid);
    if (lo_truncate64(conn.raw(), fd, 0) < 0) return LargeObjectError(conn, "truncate", oid);
    uint64_t left = length;
    while (left > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, kLargeObjectChunk));
      PGK_ASSIGN_OR_RETURN(bool got, ReadExactly(*reader, chunk.get(), n, path));
      if (!got) return Status::Malformed(path + " ends inside large object " + std::to_string(oid));
      if (lo_write(conn.raw(), fd, chunk.get(), n) != static_cast<int>(n)) return LargeObjectError(conn, "write", oid);
      left -= n;
    }
    if (lo_close(conn.raw(), fd) < 0) return LargeObjectError(conn, "close", oid);
    ++objects;
  }
  // The reader returned end of file: the whole file's digests were checked.
  PGK_RETURN_IF_ERROR(tx.Commit());
  return objects;
}

}  // namespace pgk::restore
