// The built-in checks. Thresholds follow common operational guidance: PostgreSQL forces a
// shutdown near 2^31 transaction ids of age, so 500M is worth a look and 1.2B urgent.
#include <map>

#include "check/report.h"
#include "pg/quote.h"

namespace pgk::check {

namespace {

constexpr int64_t kXidAgeWarning = 500'000'000;
constexpr int64_t kXidAgeError = 1'200'000'000;

const char* kSettingNames[] = {"data_checksums", "wal_level",        "archive_mode",      "archive_command",
                               "archive_library", "max_wal_senders", "fsync",             "full_page_writes",
                               "synchronous_commit", "max_connections", "shared_buffers", "server_encoding",
                               "TimeZone"};

std::string Get(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}

}  // namespace

Status CollectServer(pg::Connection& conn, CheckReport& r) {
  PGK_ASSIGN_OR_RETURN(auto res, conn.Query(
                                     "SELECT version(), current_setting('server_version'), "
                                     "current_setting('server_version_num')::int, pg_is_in_recovery(), "
                                     "extract(epoch FROM now() - pg_postmaster_start_time())::bigint, "
                                     "pg_database_size(current_database()), "
                                     "(SELECT max(age(datfrozenxid)) FROM pg_database)"));
  r.server_version_full = res.GetString(0, 0);
  r.server_version = res.GetString(0, 1);
  r.server_version_num = static_cast<int>(res.GetInt(0, 2));
  r.in_recovery = res.GetBool(0, 3);
  r.uptime_s = res.GetInt(0, 4);
  r.database_bytes = res.GetInt(0, 5);
  int64_t xid_age = res.GetInt(0, 6);
  if (r.server_version_num < 130000) {
    r.findings.push_back({Severity::kWarning, "server_version",
                          "PostgreSQL " + r.server_version + " is past its end of life",
                          "upgrade to a supported major version"});
  }
  if (r.in_recovery) {
    r.findings.push_back({Severity::kInfo, "role", "the server is a standby (in recovery)", ""});
  }
  if (xid_age >= kXidAgeError) {
    r.findings.push_back({Severity::kError, "xid_wraparound",
                          "oldest database transaction id age is " + std::to_string(xid_age),
                          "run VACUUM FREEZE on the oldest tables now; the server stops accepting writes near 2.1 billion"});
  } else if (xid_age >= kXidAgeWarning) {
    r.findings.push_back({Severity::kWarning, "xid_wraparound",
                          "oldest database transaction id age is " + std::to_string(xid_age),
                          "check that autovacuum keeps up (long transactions, abandoned replication slots)"});
  }
  return Status::Ok();
}

Status CollectSettings(pg::Connection& conn, CheckReport& r) {
  std::string names = "{";
  for (const char* n : kSettingNames) names += std::string(names.size() > 1 ? "," : "") + n;
  names += "}";
  // current_setting() formats with units (e.g. 128MB), as an operator expects to read them.
  PGK_ASSIGN_OR_RETURN(auto res, conn.Query("SELECT name, current_setting(name, true) FROM pg_settings "
                                            "WHERE name = ANY($1::text[]) ORDER BY name",
                                            {names}));
  std::map<std::string, std::string> m;
  for (int i = 0; i < res.rows(); ++i) {
    auto v = res.GetOpt(i, 1);
    m[res.GetString(i, 0)] = v ? *v : "(hidden)";
  }
  for (const char* n : kSettingNames) {
    if (m.count(n)) r.settings.push_back({n, m[n]});
  }
  auto add = [&](Severity s, const char* check, std::string msg, std::string hint) {
    r.findings.push_back({s, check, std::move(msg), std::move(hint)});
  };
  if (Get(m, "fsync") == "off") {
    add(Severity::kError, "fsync", "fsync is off: a crash can corrupt the database", "set fsync = on");
  }
  if (Get(m, "full_page_writes") == "off") {
    add(Severity::kError, "full_page_writes", "full_page_writes is off: a crash can leave torn pages",
        "set full_page_writes = on");
  }
  if (Get(m, "data_checksums") == "on") {
    add(Severity::kOk, "data_checksums", "data checksums are on", "");
  } else {
    add(Severity::kWarning, "data_checksums", "data checksums are off: silent page corruption goes undetected",
        "enable them with pg_checksums --enable while the server is stopped");
  }
  std::string wal_level = Get(m, "wal_level");
  if (wal_level == "minimal") {
    add(Severity::kWarning, "wal_level", "wal_level is minimal: no physical backups or point-in-time recovery",
        "set wal_level = replica and restart");
  } else {
    add(Severity::kOk, "wal_level", "wal_level is " + wal_level, "");
  }
  std::string archive_mode = Get(m, "archive_mode");
  std::string archive_command = Get(m, "archive_command");
  std::string archive_library = Get(m, "archive_library");
  bool archiver_configured =
      (!archive_command.empty() && archive_command != "(disabled)") || !archive_library.empty();
  if (archive_mode == "off" || archive_mode.empty()) {
    add(Severity::kWarning, "archive_mode", "WAL archiving is off: point-in-time recovery is not possible",
        "set archive_mode = on and an archive_command (pgkeeper setup-archiving prints the settings)");
  } else if (!archiver_configured) {
    add(Severity::kError, "archive_command",
        "archive_mode is " + archive_mode + " but no archive_command is set: WAL accumulates in pg_wal",
        "set archive_command, or archive_mode = off");
  } else {
    PGK_ASSIGN_OR_RETURN(auto arch, conn.Query("SELECT archived_count, failed_count, last_failed_wal, "
                                               "last_failed_time > coalesce(last_archived_time, '-infinity') "
                                               "FROM pg_stat_archiver"));
    if (arch.rows() == 1 && arch.GetBool(0, 3)) {
      add(Severity::kError, "archiver",
          "WAL archiving is failing (last failed segment " + arch.GetString(0, 2) + ", " +
              std::to_string(arch.GetInt(0, 1)) + " failures)",
          "look at the server log for the archive_command's error");
    } else {
      add(Severity::kOk, "archiver", "WAL archiving is on (" + std::to_string(arch.GetInt(0, 0)) + " segments archived)", "");
    }
  }
  if (Get(m, "max_wal_senders") == "0") {
    add(Severity::kWarning, "max_wal_senders", "max_wal_senders is 0: no streaming replication or BASE_BACKUP",
        "set max_wal_senders = 10 and restart");
  }
  return Status::Ok();
}

Status CollectTables(pg::Connection& conn, const CheckOptions& options, CheckReport& r) {
  PGK_ASSIGN_OR_RETURN(auto res, conn.Query(R"sql(
    SELECT n.nspname, c.relname, c.relkind::text, c.relpersistence = 'u', c.reltuples::bigint,
           pg_table_size(c.oid), pg_indexes_size(c.oid), pg_total_relation_size(c.oid)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'm')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname !~ '^pg_(toast|temp_)'
     ORDER BY n.nspname, c.relname)sql"));
  for (int i = 0; i < res.rows(); ++i) {
    TableInfo t;
    t.schema = res.GetString(i, 0);
    t.name = res.GetString(i, 1);
    std::string k = res.GetString(i, 2);
    t.kind = k == "p" ? "partitioned table" : k == "m" ? "materialized view" : "table";
    t.unlogged = res.GetBool(i, 3);
    t.row_estimate = res.GetInt(i, 4, -1);
    t.table_bytes = res.GetInt(i, 5);
    t.index_bytes = res.GetInt(i, 6);
    t.total_bytes = res.GetInt(i, 7);
    r.tables.push_back(std::move(t));
  }
  if (options.exact && !r.tables.empty()) {
    // One snapshot for all counts, so they are consistent with each other.
    PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn, "ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    for (auto& t : r.tables) {
      // A partitioned table's own count covers its partitions (listed separately too).
      std::string only = t.kind == "partitioned table" ? "" : "ONLY ";
      PGK_ASSIGN_OR_RETURN(std::string n,
                           conn.QueryValue("SELECT count(*) FROM " + only + pg::QuoteQualified(t.schema, t.name)));
      t.exact_rows = std::stoll(n);
    }
    PGK_RETURN_IF_ERROR(tx.Commit());
  }
  PGK_ASSIGN_OR_RETURN(auto invalid, conn.Query(R"sql(
    SELECT n.nspname, ci.relname, ct.relname
      FROM pg_index i
      JOIN pg_class ci ON ci.oid = i.indexrelid
      JOIN pg_class ct ON ct.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = ci.relnamespace
     WHERE NOT i.indisvalid ORDER BY 1, 2)sql"));
  for (int i = 0; i < invalid.rows(); ++i) {
    r.findings.push_back({Severity::kWarning, "invalid_index",
                          "index " + invalid.GetString(i, 0) + "." + invalid.GetString(i, 1) + " on " +
                              invalid.GetString(i, 2) + " is invalid (a failed CREATE INDEX CONCURRENTLY?)",
                          "REINDEX INDEX CONCURRENTLY it, or drop it"});
  }
  return Status::Ok();
}

}  // namespace pgk::check
