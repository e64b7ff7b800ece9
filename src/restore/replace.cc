#include "restore/replace.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "common/hash.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/database_props.h"
#include "pg/quote.h"
#include "restore/sessions.h"
#include "restore/verify.h"

namespace pgk::restore {

namespace {

using pg::ApplyDatabaseProps;
using pg::CreateClauses;
using pg::DatabaseProps;
using pg::ReadDatabaseProps;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxIdentifier = 63;  // NAMEDATALEN - 1
constexpr int kSwapAttempts = 3;

struct Admin {
  pg::Connection conn;
  std::string conninfo;
};

// Our own connection must not be on the database being replaced: a session there would
// block the rename. --db often names that very database, so move to another one.
Result<Admin> ConnectAdmin(const std::string& server, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(pg::Connection c, pg::Connection::Connect(server, {.application_name = "pgkeeper-restore"}));
  if (c.database() != db) return Admin{std::move(c), server};
  for (const char* other : {"postgres", "template1"}) {
    PGK_ASSIGN_OR_RETURN(std::string conninfo, pg::WithDatabase(server, other));
    auto alt = pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-restore"});
    if (alt.ok()) return Admin{std::move(alt).value(), conninfo};
  }
  return Status::Refused("--db connects to " + db +
                             ", the database to replace, and neither postgres nor template1 "
                             "accepts a connection",
                         "point --db at another database on the same server");
}

Status Drop(pg::Connection& admin, const std::string& db) {
  return admin.Exec("DROP DATABASE IF EXISTS " + pg::QuoteIdent(db) + " WITH (FORCE)");
}

Status DropWithNewConnection(const std::string& server, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(pg::Connection admin, pg::Connection::Connect(server, {.application_name = "pgkeeper-restore"}));
  return Drop(admin, db);
}

// Temporary databases of earlier replaces of `db`. A leftover with sessions belongs to a
// replace still running, or to a killed one whose backends have not yet noticed (they
// finish their statement first): the latter go within seconds.
Result<std::vector<std::string>> FindLeftovers(pg::Connection& admin, const std::string& db) {
  std::string prefix = TemporaryPrefix(db);
  PGK_ASSIGN_OR_RETURN(auto r, admin.Query("SELECT datname FROM pg_catalog.pg_database "
                                           "WHERE left(datname, length($1)) = $1 ORDER BY 1",
                                           {prefix}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) {
    std::string name = r.GetString(i, 0);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    for (;;) {
      PGK_ASSIGN_OR_RETURN(auto sessions, OtherSessions(admin, name));
      if (sessions.empty()) break;
      if (Clock::now() >= deadline) {
        return Status::Refused("another restore --replace of " + db + " is running: its temporary database " + name +
                                   " has " + DescribeSessions(sessions),
                               "wait for it to finish; if no pgkeeper is running, drop " + name + " and run again");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    out.push_back(name);
  }
  return out;
}

Status TryRename(pg::Connection& admin, const std::string& db, const std::string& tmp, const std::string& old,
                 std::string* sqlstate) {
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(admin));
  Status s = admin.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " RENAME TO " + pg::QuoteIdent(old));
  if (s.ok()) s = admin.Exec("ALTER DATABASE " + pg::QuoteIdent(tmp) + " RENAME TO " + pg::QuoteIdent(db));
  if (s.ok()) s = tx.Commit();
  if (!s.ok()) *sqlstate = admin.last_error().sqlstate;
  return s;
}

// Both renames in one transaction. Renaming DB locks it first, so a connection attempt in
// the window waits (milliseconds) and then fails ("it seems to have just been dropped or
// renamed"): its retry finds the restored database under DB's name. If pgkeeper dies
// before COMMIT the server rolls both renames back. A session that got in
// between the check and the lock makes the rename fail after PostgreSQL's 5 s wait: with
// terminate_sessions it is terminated and the swap tried again.
Status Swap(pg::Connection& admin, const ReplaceOptions& o, const std::string& tmp, const std::string& old,
            ReplaceReport* r) {
  const std::string& db = o.database;
  PGK_RETURN_IF_ERROR(admin.Exec("SET lock_timeout = '10s'"));
  for (int attempt = 1;; ++attempt) {
    if (o.terminate_sessions) {
      PGK_ASSIGN_OR_RETURN(int n, TerminateSessions(admin, db));
      if (n > 0) log::Info("terminated {} session(s) that connected to {} during the restore", n, db);
      r->terminated_sessions += n;
    } else {
      PGK_ASSIGN_OR_RETURN(auto sessions, OtherSessions(admin, db));
      if (!sessions.empty()) {
        return Status::Refused(DescribeSessions(sessions) + " connected to " + db + " while the backup was restored",
                               "stop the application, or pass --terminate-sessions to disconnect them before the swap");
      }
    }
    log::Info("swapping: {} becomes {}, {} becomes {}", db, old, tmp, db);
    auto t0 = Clock::now();
    std::string sqlstate;
    Status s = TryRename(admin, db, tmp, old, &sqlstate);
    if (s.ok()) {
      r->swap_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      return s;
    }
    bool in_use = sqlstate == "55006";  // object_in_use: "being accessed by other users"
    if (in_use && o.terminate_sessions && attempt < kSwapAttempts) continue;
    if (in_use) {
      return s.WithHint(o.terminate_sessions
                            ? "sessions kept reconnecting to " + db + "; stop the application and run again"
                            : "stop the application, or pass --terminate-sessions to disconnect them before the swap");
    }
    return s;
  }
}

Status Untouched(const Status& s, const std::string& db, const std::string& what) {
  return Status(s.code(), s.message() + "; " + db + " is untouched" + what, s.hint());
}

// After the restore into `tmp`: carries DB's properties over and swaps, or (counts
// differ, a session is in the way, ...) drops `tmp` and leaves DB as it was. Then the
// old database is dropped or kept.
Status SwapIn(Admin& admin, const ReplaceOptions& o, const DatabaseProps& props, const std::string& tmp,
              ReplaceReport* report) {
  const std::string& db = o.database;
  // Until the swap commits, the temporary database is ours to drop, also on interrupt.
  std::string server = admin.conninfo;
  int hook = AddCleanupHook([server, tmp] { (void)DropWithNewConnection(server, tmp); });
  bool counts_match = report->restore.mismatches.empty();
  Status s;
  if (counts_match) {
    s = ApplyDatabaseProps(admin.conn, props, tmp);
    if (!s.ok()) {
      s = s.WithContext("giving " + tmp + " the owner, privileges and settings of " + db)
              .WithHint("replacing needs a superuser, or a role with CREATEDB that owns " + db);
    }
  } else {
    log::Info("row counts differ from the manifest: {} is not replaced", db);
  }
  std::string old = OldName(db, std::time(nullptr));
  if (s.ok() && counts_match) s = Swap(admin.conn, o, tmp, old, report);
  if (!s.ok() || !counts_match) {
    log::Info("dropping the temporary database {}", tmp);
    Status dropped = Drop(admin.conn, tmp);
    RemoveCleanupHook(hook);
    std::string what = dropped.ok() ? " and the restored copy was dropped"
                                    : " but the restored copy " + tmp + " could not be dropped (" + dropped.message() +
                                          "): drop it by hand";
    if (!s.ok()) return Untouched(s, db, what);
    if (!dropped.ok()) return Status(dropped.code(), db + " was not replaced (row counts differ)" + what);
    return Status::Ok();
  }
  RemoveCleanupHook(hook);
  report->replaced = true;
  if (o.keep_old) {
    report->old_database = old;
    log::Info("kept the replaced database as {}", old);
    return Status::Ok();
  }
  log::Info("dropping the replaced database (now {})", old);
  Status dropped = Drop(admin.conn, old);
  if (!dropped.ok()) {
    // DB is replaced: that is the command's result, so this is only reported.
    report->old_database = old;
    report->old_not_dropped = dropped.message();
  }
  return Status::Ok();
}

}  // namespace

std::string TemporaryPrefix(const std::string& db) {
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", static_cast<unsigned>(Fnv1a64(db) & 0xffffffffu));
  return std::string("pgkeeper_replace_") + hash + "_";
}

std::string OldName(const std::string& db, int64_t epoch_s) {
  std::string suffix = FormatUtc(epoch_s, "_old_%Y%m%dT%H%M%S");
  size_t keep = std::min(db.size(), kMaxIdentifier - suffix.size());
  // Never cut a UTF-8 character in two.
  while (keep > 0 && keep < db.size() && (static_cast<unsigned char>(db[keep]) & 0xC0) == 0x80) --keep;
  return db.substr(0, keep) + suffix;
}

Result<ReplaceReport> ReplaceDatabase(repo::Repository& repo, const repo::Manifest& m, const ReplaceOptions& o) {
  ReplaceReport report;
  const std::string& db = o.database;
  if (db.empty()) return Status::InvalidArgument("no database to replace", "pass --replace DB");
  bool has_schema = std::any_of(m.files.begin(), m.files.end(), [](const auto& f) { return f.kind == "schema-pre"; });
  if (!has_schema || std::find(m.options.begin(), m.options.end(), "data-only") != m.options.end()) {
    return Status::Refused("backup " + m.id + " has no schema (data-only): it cannot replace a database",
                           "restore one table beside the live one with --table T --into " + db);
  }
  PGK_ASSIGN_OR_RETURN(Admin admin, ConnectAdmin(o.server_conninfo, db));
  PGK_ASSIGN_OR_RETURN(auto exists, admin.conn.Query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", {db}));
  if (exists.rows() == 0) {
    return Status::Refused("database " + db + " does not exist on " + admin.conn.display(),
                           "to restore into a new database, use --into " + db);
  }
  PGK_ASSIGN_OR_RETURN(auto leftovers, FindLeftovers(admin.conn, db));
  PGK_ASSIGN_OR_RETURN(auto sessions, OtherSessions(admin.conn, db));
  if (!sessions.empty() && !o.terminate_sessions) {
    return Status::Refused(DescribeSessions(sessions) + " connected to " + db,
                           "stop the application first, or pass --terminate-sessions to disconnect them; nothing "
                           "was changed");
  }
  if (o.confirm) PGK_RETURN_IF_ERROR(o.confirm());

  PGK_ASSIGN_OR_RETURN(auto key, repo.DataKey(m));
  const pipeline::Key* k = key ? &*key : nullptr;
  log::Info("verifying {} files of backup {} before touching {}", m.files.size(), m.id, db);
  PGK_RETURN_IF_ERROR(FirstFailure(VerifyFiles(repo, m, k, {}, o.jobs)));

  for (const auto& name : leftovers) {
    log::Info("dropping {}, left by an interrupted replace of {}", name, db);
    PGK_RETURN_IF_ERROR(Drop(admin.conn, name));
    report.dropped_leftovers.push_back(name);
  }
  if (o.terminate_sessions && !sessions.empty()) {
    PGK_ASSIGN_OR_RETURN(report.terminated_sessions, TerminateSessions(admin.conn, db));
    log::Info("terminated {}", DescribeSessions(sessions));
  }
  if (o.safety_backup) {
    PGK_ASSIGN_OR_RETURN(std::string conninfo, pg::WithDatabase(o.server_conninfo, db));
    log::Info("safety backup: backing up {} before replacing it", db);
    auto id = o.safety_backup(conninfo);
    if (!id.ok()) {
      return Status(id.status().code(),
                    "safety backup of " + db + ": " + id.status().message() + "; nothing was changed",
                    id.status().hint().empty() ? "--no-safety-backup skips it" : id.status().hint());
    }
    report.safety_backup = *id;
    log::Info("safety backup {} taken: `pgkeeper restore {} --replace {}` goes back to it", *id, *id, db);
  }

  PGK_ASSIGN_OR_RETURN(DatabaseProps props, ReadDatabaseProps(admin.conn, db));
  std::string tmp = TemporaryPrefix(db) + RandomHex(4);
  RestoreOptions ro{.server_conninfo = admin.conninfo,
                    .into = tmp,
                    .jobs = o.jobs,
                    .verify_first = false,  // done above, before the safety backup
                    .reindex = o.reindex,
                    .create_clauses = CreateClauses(props),
                    .on_total_bytes = o.on_total_bytes,
                    .on_bytes = o.on_bytes};
  log::Info("restoring {} into the temporary database {}", m.id, tmp);
  auto restored = RestoreDatabase(repo, m, ro);  // drops tmp itself when it fails
  if (!restored.ok()) return Untouched(restored.status(), db, "");
  report.restore = std::move(restored).value();
  report.restore.files_verified = static_cast<int>(m.files.size());

  PGK_RETURN_IF_ERROR(SwapIn(admin, o, props, tmp, &report));
  return report;
}

}  // namespace pgk::restore
