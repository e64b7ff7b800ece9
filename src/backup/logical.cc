#include "backup/logical.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "backup/dump.h"
#include "backup/file_writer.h"
#include "common/version.h"
#include "pg/connection.h"
#include "pg/quote.h"
#include "schema/introspect.h"
#include "schema/json.h"

namespace pgk::backup {

namespace {

struct TableJob {
  std::string qualified;  // quote_ident rules, pasteable into SQL
  std::string plain;      // schema.name unquoted, for -t matching
  int64_t bytes = 0;
  size_t index = 0;
  int64_t blocks = 0;
  // A part of a large table: blocks [first_block, end_block), end_block -1 = to the end.
  int part = 0;  // 0: the whole table in one file
  int64_t first_block = 0;
  int64_t end_block = -1;
  // The columns COPY writes, by name (generated columns excluded, as COPY does): the
  // restored table may order them differently, so the manifest records them.
  std::vector<std::string> columns;
};

// One big table would otherwise be one COPY on one connection while the other workers
// idle (pgbench_accounts is 99% of pgbench's data). Tables larger than two parts are cut
// into block ranges read with TID range scans, each its own COPY and file; every part
// reads the same exported snapshot, so together they hold exactly the table's rows. The
// last part is open-ended: rows the snapshot sees cannot live past the blocks that
// existed when it was taken, but a range without an end needs no such argument.
inline constexpr int kMaxParts = 64;

std::vector<TableJob> SplitLargeTables(const std::vector<TableJob>& tables, int jobs, int64_t part_bytes) {
  std::vector<TableJob> out;
  for (const auto& t : tables) {
    int parts = jobs > 1 && part_bytes > 0 && t.blocks > 1 && t.bytes > 2 * part_bytes
                    ? static_cast<int>(std::min<int64_t>({kMaxParts, t.blocks, (t.bytes + part_bytes - 1) / part_bytes}))
                    : 1;
    if (parts == 1) {
      out.push_back(t);
      continue;
    }
    int64_t per = (t.blocks + parts - 1) / parts;
    for (int p = 0; p < parts; ++p) {
      TableJob part = t;
      part.part = p + 1;
      part.first_block = per * p;
      part.end_block = p + 1 == parts ? -1 : per * (p + 1);
      part.bytes = t.bytes / parts;
      out.push_back(part);
    }
  }
  return out;
}

std::string CopyQuery(const TableJob& t) {
  std::string columns;
  for (const auto& c : t.columns) columns += (columns.empty() ? "" : ", ") + pg::QuoteIdent(c);
  if (t.part == 0) return "COPY " + t.qualified + (columns.empty() ? "" : " (" + columns + ")") + " TO STDOUT";
  std::string where = "ctid >= '(" + std::to_string(t.first_block) + ",0)'::tid";
  if (t.end_block >= 0) where += " AND ctid < '(" + std::to_string(t.end_block) + ",0)'::tid";
  return "COPY (SELECT " + (columns.empty() ? std::string("*") : columns) + " FROM ONLY " + t.qualified + " WHERE " +
         where + ") TO STDOUT";
}

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
                                                        "n.nspname || '.' || c.relname, pg_table_size(c.oid), "
                                                        "c.relpersistence = 'u', pg_relation_size(c.oid) / "
                                                        "current_setting('block_size')::bigint, "
                                                        "(SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]') FROM "
                                                        "pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT "
                                                        "a.attisdropped AND a.attgenerated = '') FROM pg_class c JOIN pg_namespace n "
                                                        "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND") +
                                            kUserRelations + "ORDER BY 1"));
  std::vector<TableJob> out;
  for (int i = 0; i < res.rows(); ++i) {
    TableJob t{res.GetString(i, 0), res.GetString(i, 1), res.GetInt(i, 2), 0, res.GetInt(i, 4)};
    try {
      t.columns = nlohmann::json::parse(res.GetString(i, 5)).get<std::vector<std::string>>();
    } catch (const std::exception& e) {
      return Status::Internal("cannot read the columns of " + t.qualified + ": " + e.what());
    }
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

constexpr size_t kCopyBatch = 256 * 1024;

// Worker: imports the snapshot and streams tables from the shared queue.
Status CopyWorker(const std::string& conninfo, const std::string& snapshot, repo::Repository& repository,
                  const FileSpec& base, std::vector<TableJob>& jobs, std::atomic<size_t>& next, std::mutex& mu,
                  std::vector<repo::ManifestFile>& files, const std::atomic<bool>& failed,
                  const std::function<void(const std::string&)>& progress,
                  const std::function<void(int64_t)>& on_bytes) {
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-backup", .portable_output = true}));
  PGK_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PGK_RETURN_IF_ERROR(conn.Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(snapshot)));
  for (;;) {
    if (failed) return Status::Ok();
    size_t i = next++;
    if (i >= jobs.size()) break;
    const TableJob& t = jobs[i];
    char name[48];
    if (t.part == 0) {
      std::snprintf(name, sizeof name, "data/%04zu.copy", t.index);
    } else {
      std::snprintf(name, sizeof name, "data/%04zu.%03d.copy", t.index, t.part);
    }
    FileSpec spec = base;
    spec.name = name;
    spec.kind = "table-data";
    spec.table = t.qualified;
    repo::ManifestFile entry;
    int64_t rows = 0;
    PGK_RETURN_IF_ERROR(WriteBackupFile(
        repository, spec,
        [&](pipeline::Sink& sink) {
          // libpq hands over one row at a time (~100 bytes for pgbench): rows are batched
          // so that counting, hashing, compressing and the shared progress counter work
          // per 256 KiB rather than per row (per row, they cost more CPU than the server's
          // COPY itself).
          std::string batch;
          batch.reserve(kCopyBatch + 64 * 1024);
          auto flush = [&]() -> Status {
            if (batch.empty()) return Status::Ok();
            if (on_bytes) on_bytes(static_cast<int64_t>(batch.size()));
            Status s = sink.Write(batch);
            batch.clear();
            return s;
          };
          Status copied = conn.CopyOut(CopyQuery(t), [&](std::string_view chunk) -> Status {
            ++rows;  // PQgetCopyData returns one row at a time (libpq's documented contract)
            batch.append(chunk);
            return batch.size() >= kCopyBatch ? flush() : Status::Ok();
          });
          return copied.ok() ? flush() : copied;
        },
        &entry));
    entry.rows = rows;
    entry.columns = t.columns;
    progress("table " + t.qualified + (t.part ? " part " + std::to_string(t.part) : "") + ": " + std::to_string(rows) +
             " rows");
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
  PGK_ASSIGN_OR_RETURN(pg::Connection coord, pg::Connection::Connect(o.conninfo, {.application_name = "pgkeeper-backup", .portable_output = true}));
  PGK_RETURN_IF_ERROR(coord.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PGK_ASSIGN_OR_RETURN(std::string snapshot, coord.QueryValue("SELECT pg_export_snapshot()"));

  repo::Manifest m;
  m.type = "logical";
  m.id = !o.member_id.empty() ? o.member_id : repo::BackupId(start_s, m.type);
  // Two backups in the same second: make the id unique rather than overwrite.
  for (int n = 2; o.member_id.empty(); ++n) {
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
  if (!o.member_id.empty()) {
    if (o.member_key) {
      data_key = *o.member_key;
      m.cipher = "aes-256-gcm";
    }
  } else if (const pipeline::Key* rk = repository.repo_key()) {
    data_key = pipeline::RandomKey();
    m.wrapped_data_key = pipeline::WrapKey(*rk, *data_key);
    m.cipher = "aes-256-gcm";
  }
  FileSpec base{.backup_id = m.id, .compression = o.compression, .compression_level = o.compression_level,
                .data_key = data_key ? &*data_key : nullptr};
  std::vector<std::string> table_args;
  PGK_ASSIGN_OR_RETURN(auto listed, ListTables(coord, o));
  if (!o.tables.empty())
    for (const auto& t : listed) table_args.push_back(t.qualified);
  std::vector<TableJob> tables = SplitLargeTables(listed, o.jobs, o.part_bytes);
  if (o.on_total_bytes && !o.schema_only) {
    int64_t total = 0;
    for (const auto& t : listed) total += t.bytes;
    o.on_total_bytes(total);
  }

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

  // The schema files come from pg_dump and the catalog in the same exported snapshot, so
  // they need not wait for the data nor the data for them: one thread writes them while
  // the workers COPY (pg_dump's start-up and catalog queries are a fixed second or two
  // that would otherwise add to every backup's time). Manifest order stays as before.
  struct SideFile {
    std::string name, kind;
    std::function<Status(pipeline::Sink&)> produce;
    repo::ManifestFile entry;
    Status status;
    bool written = false;
  };
  std::vector<SideFile> schema_files;
  if (!o.data_only) {
    schema_files.push_back({.name = "schema/pre-data.sql", .kind = "schema-pre", .produce = [&](pipeline::Sink& sink) {
                              return RunPgDump(o.conninfo, snapshot, "pre-data", table_args, sink);
                            }});
    // The schema as pgkeeper models it, from the same snapshot: drills and restore tests
    // compare a restored database with the schema it was backed up with, whatever
    // migrations the live database has run since. Only for whole-schema backups.
    if (o.tables.empty()) {
      schema_files.push_back(
          {.name = "schema/snapshot.json", .kind = "schema-snapshot", .produce = [&](pipeline::Sink& sink) -> Status {
             PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(o.conninfo, {.application_name = "pgkeeper-backup",
                                                                                            .portable_output = true}));
             PGK_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
             PGK_RETURN_IF_ERROR(conn.Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(snapshot)));
             PGK_ASSIGN_OR_RETURN(schema::Snapshot model, schema::IntrospectInTransaction(conn));
             PGK_RETURN_IF_ERROR(conn.Exec("COMMIT"));
             return sink.Write(schema::SerializeSnapshot(model));
           }});
    }
    schema_files.push_back({.name = "schema/post-data.sql", .kind = "schema-post", .produce = [&](pipeline::Sink& sink) {
                              return RunPgDump(o.conninfo, snapshot, "post-data", table_args, sink);
                            }});
  }
  std::atomic<bool> failed{false};
  std::thread schema_thread([&] {
    for (auto& f : schema_files) {
      if (failed) return;
      FileSpec spec = base;
      spec.name = f.name;
      spec.kind = f.kind;
      f.status = WriteBackupFile(repository, spec, f.produce, &f.entry);
      if (!f.status.ok()) {
        failed = true;
        return;
      }
      f.written = true;
      progress("schema " + f.name.substr(7) + " written");
    }
  });
  auto join_schema = [&]() -> Status {
    if (schema_thread.joinable()) schema_thread.join();
    for (const auto& f : schema_files)
      if (!f.status.ok()) return f.status;
    return Status::Ok();
  };
  auto take_schema = [&](const std::string& name) {
    for (auto& f : schema_files) {
      if (f.name == name && f.written) m.files.push_back(std::move(f.entry));
    }
  };
  std::vector<repo::ManifestFile> data_files;
  if (!o.schema_only) {
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::vector<Status> results(static_cast<size_t>(std::min<int>(o.jobs, std::max<int>(1, static_cast<int>(tables.size())))));
    std::vector<std::thread> threads;
    for (size_t w = 0; w < results.size(); ++w) {
      threads.emplace_back([&, w] {
        results[w] =
            CopyWorker(o.conninfo, snapshot, repository, base, tables, next, mu, data_files, failed, progress, o.on_bytes);
        if (!results[w].ok()) failed = true;
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) {
      if (!r.ok()) {
        failed = true;
        (void)join_schema();
        return cleanup_on_error(r);
      }
    }
  }
  Status schema_status = join_schema();
  if (!schema_status.ok()) return cleanup_on_error(schema_status);
  take_schema("schema/pre-data.sql");
  take_schema("schema/snapshot.json");
  if (!o.schema_only) {
    std::sort(data_files.begin(), data_files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (auto& f : data_files) {
      m.row_counts[f.table] += f.rows;
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
  take_schema("schema/post-data.sql");
  (void)coord.Exec("COMMIT");

  int64_t stop_s = std::time(nullptr);
  m.stop_time = repo::Iso8601(stop_s);
  m.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  LogicalResult result;
  if (!o.member_id.empty()) {  // the cluster backup writes the one manifest
    result.manifest = std::move(m);
    return result;
  }
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
