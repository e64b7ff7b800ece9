#include "backup/logical.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

#include "backup/dump.h"
#include "backup/file_writer.h"
#include "common/version.h"
#include "pg/connection.h"
#include "pg/quote.h"

namespace pgk::backup {

namespace {

struct TableJob {
  std::string qualified;  // quote_ident rules, pasteable into SQL
  std::string plain;      // schema.name unquoted, for -t matching
  int64_t bytes = 0;
  size_t index = 0;
};

bool Matches(const std::vector<std::string>& patterns, const TableJob& t) {
  for (const auto& p : patterns) {
    if (p == t.qualified || p == t.plain) return true;
    auto dot = t.plain.find('.');
    if (p == t.plain.substr(dot + 1)) return true;  // unqualified name
  }
  return false;
}

Result<std::vector<TableJob>> ListTables(pg::Connection& conn, const LogicalOptions& o) {
  // Leaf tables only: a partitioned parent has no rows of its own, and COPY refuses it.
  PGK_ASSIGN_OR_RETURN(auto res, conn.Query(std::string("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
                                                        "n.nspname || '.' || c.relname, pg_relation_size(c.oid), "
                                                        "c.relpersistence = 'u' FROM pg_class c JOIN pg_namespace n "
                                                        "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND") +
                                            kUserRelations + "ORDER BY 1"));
  std::vector<TableJob> out;
  for (int i = 0; i < res.rows(); ++i) {
    TableJob t{res.GetString(i, 0), res.GetString(i, 1), res.GetInt(i, 2), 0};
    if (res.GetBool(i, 3) && !o.include_unlogged) continue;
    if (!o.tables.empty() && !Matches(o.tables, t)) continue;
    if (Matches(o.exclude_tables, t)) continue;
    out.push_back(t);
  }
  if (!o.tables.empty() && out.empty()) {
    return Status::NotFound("no table matches -t", "name tables as schema.table or table");
  }
  // Largest first: the long pole starts early and the workers finish together.
  std::sort(out.begin(), out.end(), [](const TableJob& a, const TableJob& b) { return a.bytes > b.bytes; });
  for (size_t i = 0; i < out.size(); ++i) out[i].index = i + 1;
  return out;
}

std::optional<uint64_t> MigrationVersion(pg::Connection& conn) {
  // No query here may fail: we are inside the coordinator's snapshot transaction.
  auto has = conn.QueryValue(
      "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('public.schema_migrations') "
      "AND attname = 'success' AND NOT attisdropped)");
  if (!has.ok() || *has != "t") return std::nullopt;
  auto v = conn.QueryValue("SELECT max(version)::text FROM public.schema_migrations WHERE success");
  if (!v.ok() || v->empty()) return std::nullopt;
  return std::stoull(*v);
}

// Worker: imports the snapshot and streams tables from the shared queue.
Status CopyWorker(const std::string& conninfo, const std::string& snapshot, repo::Repository& repository,
                  const FileSpec& base, std::vector<TableJob>& jobs, std::atomic<size_t>& next, std::mutex& mu,
                  std::vector<repo::ManifestFile>& files, const std::atomic<bool>& failed,
                  const std::function<void(const std::string&)>& progress) {
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-backup"}));
  PGK_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PGK_RETURN_IF_ERROR(conn.Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(snapshot)));
  for (;;) {
    if (failed) return Status::Ok();
    size_t i = next++;
    if (i >= jobs.size()) break;
    const TableJob& t = jobs[i];
    char name[32];
    std::snprintf(name, sizeof name, "data/%04zu.copy", t.index);
    FileSpec spec = base;
    spec.name = name;
    spec.kind = "table-data";
    spec.table = t.qualified;
    repo::ManifestFile entry;
    int64_t rows = 0;
    PGK_RETURN_IF_ERROR(WriteBackupFile(
        repository, spec,
        [&](pipeline::Sink& sink) {
          // Text COPY escapes newlines inside values: one line is one row.
          return conn.CopyOut("COPY " + t.qualified + " TO STDOUT", [&](std::string_view chunk) {
            rows += std::count(chunk.begin(), chunk.end(), '\n');
            return sink.Write(chunk);
          });
        },
        &entry));
    entry.rows = rows;
    progress("table " + t.qualified + ": " + std::to_string(rows) + " rows");
    std::lock_guard<std::mutex> lock(mu);
    files.push_back(std::move(entry));
  }
  return conn.Exec("COMMIT");
}

}  // namespace

Result<LogicalResult> RunLogicalBackup(repo::Repository& repository, const LogicalOptions& o,
                                       const std::function<void(const std::string&)>& progress) {
  if (o.schema_only && o.data_only) {
    return Status::InvalidArgument("--schema-only and --data-only exclude each other");
  }
  if (o.jobs < 1 || o.jobs > 64) return Status::InvalidArgument("--jobs must be between 1 and 64");
  auto started = std::chrono::steady_clock::now();
  int64_t start_s = std::time(nullptr);
  PGK_ASSIGN_OR_RETURN(pg::Connection coord, pg::Connection::Connect(o.conninfo, {.application_name = "pgkeeper-backup"}));
  PGK_RETURN_IF_ERROR(coord.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PGK_ASSIGN_OR_RETURN(std::string snapshot, coord.QueryValue("SELECT pg_export_snapshot()"));

  repo::Manifest m;
  m.type = "logical";
  m.id = repo::BackupId(start_s, m.type);
  // Two backups in the same second: make the id unique rather than overwrite.
  for (int n = 2;; ++n) {
    PGK_ASSIGN_OR_RETURN(bool taken, repository.storage().Exists(repo::ManifestPath(m.id)));
    if (!taken) break;
    m.id = repo::BackupId(start_s, m.type) + std::to_string(n);
  }
  m.database = coord.database();
  PGK_ASSIGN_OR_RETURN(m.server_version, coord.QueryValue("SHOW server_version"));
  m.start_time = repo::Iso8601(start_s);
  m.migration_version = MigrationVersion(coord);
  m.tag = o.tag;
  m.pgkeeper_version = kVersion;
  m.compression = std::string(pipeline::CompressionName(o.compression));
  m.compression_level = o.compression_level;
  if (o.schema_only) m.options.push_back("schema-only");
  if (o.data_only) m.options.push_back("data-only");
  for (const auto& t : o.tables) m.options.push_back("table=" + t);
  for (const auto& t : o.exclude_tables) m.options.push_back("exclude-table=" + t);

  std::optional<pipeline::Key> data_key;
  if (const pipeline::Key* rk = repository.repo_key()) {
    data_key = pipeline::RandomKey();
    m.wrapped_data_key = pipeline::WrapKey(*rk, *data_key);
    m.cipher = "aes-256-gcm";
  }
  FileSpec base{.backup_id = m.id, .compression = o.compression, .compression_level = o.compression_level,
                .data_key = data_key ? &*data_key : nullptr};
  std::vector<std::string> table_args;
  PGK_ASSIGN_OR_RETURN(auto tables, ListTables(coord, o));
  if (!o.tables.empty())
    for (const auto& t : tables) table_args.push_back(t.qualified);

  auto cleanup_on_error = [&](const Status& s) -> Status {
    // Best effort: a backup without manifest is invisible anyway, and expire removes it.
    (void)repository.storage().RemovePrefix(repo::BackupDir(m.id));
    return s;
  };
  auto add_file = [&](const std::string& name, const std::string& kind,
                      const std::function<Status(pipeline::Sink&)>& produce) -> Status {
    FileSpec spec = base;
    spec.name = name;
    spec.kind = kind;
    repo::ManifestFile entry;
    PGK_RETURN_IF_ERROR(WriteBackupFile(repository, spec, produce, &entry));
    m.files.push_back(std::move(entry));
    return Status::Ok();
  };

  if (!o.data_only) {
    Status s = add_file("schema/pre-data.sql", "schema-pre", [&](pipeline::Sink& sink) {
      return RunPgDump(o.conninfo, snapshot, "pre-data", table_args, sink);
    });
    if (!s.ok()) return cleanup_on_error(s);
    progress("schema (pre-data) written");
  }
  if (!o.schema_only) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::vector<repo::ManifestFile> files;
    std::vector<Status> results(static_cast<size_t>(std::min<int>(o.jobs, std::max<int>(1, static_cast<int>(tables.size())))));
    std::vector<std::thread> threads;
    for (size_t w = 0; w < results.size(); ++w) {
      threads.emplace_back([&, w] {
        results[w] = CopyWorker(o.conninfo, snapshot, repository, base, tables, next, mu, files, failed, progress);
        if (!results[w].ok()) failed = true;
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results)
      if (!r.ok()) return cleanup_on_error(r);
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (auto& f : files) {
      m.row_counts[f.table] = f.rows;
      m.files.push_back(std::move(f));
    }
    int sequences = 0;
    Status s = add_file("data/sequences.sql", "sequences", [&](pipeline::Sink& sink) {
      auto n = DumpSequences(coord, sink);
      if (n.ok()) sequences = *n;
      return n.ok() ? Status::Ok() : n.status();
    });
    if (!s.ok()) return cleanup_on_error(s);
    if (o.tables.empty()) {
      auto count = coord.QueryValue("SELECT count(*) FROM pg_largeobject_metadata");
      if (count.ok() && *count != "0") {
        s = add_file("data/large-objects.bin", "large-objects", [&](pipeline::Sink& sink) {
          auto n = DumpLargeObjects(coord, sink);
          return n.ok() ? Status::Ok() : n.status();
        });
        if (!s.ok()) return cleanup_on_error(s);
        progress("large objects: " + *count);
      }
    }
  }
  if (!o.data_only) {
    Status s = add_file("schema/post-data.sql", "schema-post", [&](pipeline::Sink& sink) {
      return RunPgDump(o.conninfo, snapshot, "post-data", table_args, sink);
    });
    if (!s.ok()) return cleanup_on_error(s);
  }
  (void)coord.Exec("COMMIT");

  int64_t stop_s = std::time(nullptr);
  m.stop_time = repo::Iso8601(stop_s);
  m.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  LogicalResult result;
  // The sanity check of the seed scripts: a backup much smaller than the previous one of
  // the same database and kind usually means lost data, not a good day.
  auto previous = repository.ListBackups();
  if (previous.ok()) {
    for (auto it = previous->rbegin(); it != previous->rend(); ++it) {
      if (it->type != m.type || it->database != m.database || it->options != m.options) continue;
      if (it->original_bytes() > 0 && m.original_bytes() < it->original_bytes() / 2) {
        result.warning = "suspiciously small: " + std::to_string(m.original_bytes()) + " bytes, the previous backup " +
                         it->id + " had " + std::to_string(it->original_bytes());
      }
      break;
    }
  }
  Status written = repository.WriteManifest(m);
  if (!written.ok()) return cleanup_on_error(written);
  result.manifest = std::move(m);
  return result;
}

}  // namespace pgk::backup
