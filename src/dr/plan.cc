#include "dr/plan.h"

#include <algorithm>

namespace pgk::dr {

namespace {

struct Names {
  Scenario scenario;
  const char* name;
  const char* summary;
};
constexpr Names kNames[] = {
    {Scenario::kCorruption, "corruption",
     "the database is damaged (corrupt pages, bad data everywhere): restore the latest verified backup in its place"},
    {Scenario::kDeletion, "deletion",
     "rows or tables were deleted by mistake: restore a point before it beside the live database and export what "
     "was lost"},
    {Scenario::kServerLost, "server-lost",
     "the server is gone: restore onto a new server, then point the application there"},
    {Scenario::kSecurityIncident, "security",
     "someone got in: restore a backup from before the incident and rotate every credential"},
};

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

int64_t IsoToUs(const std::string& iso) {
  auto s = repo::ParseIso8601(iso);
  return s.ok() ? *s * 1000000 : 0;
}

// A logical backup's data is its snapshot, taken when it started.
int64_t LogicalPointUs(const repo::Manifest& m) { return IsoToUs(m.start_time); }

bool Fits(const repo::Manifest& m, const PlanInput& in, const std::string& method) {
  if (m.type != method) return false;
  if (!in.backup_id.empty()) return m.id == in.backup_id;
  // Safety backups are copies of a database just before pgkeeper replaced it: after a
  // corruption or an intrusion, that is the damaged state, never what to restore.
  if (m.tag == "safety") return false;
  if (method == "logical" && !in.database.empty() && m.database != in.database) return false;
  if (in.before_us) {
    int64_t point = method == "logical" ? LogicalPointUs(m) : (m.physical ? m.physical->stop_us : 0);
    if (point == 0 || point >= *in.before_us) return false;
  }
  return true;
}

const repo::Manifest* Newest(const PlanInput& in, const std::string& method) {
  const repo::Manifest* best = nullptr;
  for (const auto& m : in.backups) {
    if (Fits(m, in, method)) best = &m;  // oldest first: the last that fits is the newest
  }
  return best;
}

const repo::Manifest* NewestGlobals(const PlanInput& in) {
  const repo::Manifest* best = nullptr;
  for (const auto& m : in.backups) {
    if (m.type == "globals" && m.tag != "safety") best = &m;
  }
  return best;
}

Status NoBackup(const PlanInput& in, const std::string& method) {
  std::string what = method + " backup";
  if (!in.backup_id.empty()) {
    return Status::NotFound("backup " + in.backup_id + " is not a " + what + " that fits this recovery",
                            "`pgkeeper backups list` shows the backups; leave out --backup to pick one");
  }
  if (method == "logical" && !in.database.empty()) what += " of database " + in.database;
  if (in.before_us) what += " taken before " + in.before_text;
  std::string oldest;
  for (const auto& m : in.backups) {
    if (m.type == method && (method != "logical" || in.database.empty() || m.database == in.database)) {
      oldest = m.id + " (" + m.start_time + ")";
      break;
    }
  }
  return Status::NotFound(
      "no " + what + " in the repository",
      oldest.empty() ? "take one with `pgkeeper backup" + std::string(method == "physical" ? " --type physical`" : "`")
                     : "the oldest is " + oldest);
}

void AddRepo(const PlanInput& in, std::vector<std::string>* args) {
  if (!in.repo.empty()) args->insert(args->end(), {"--repo", in.repo});
  if (!in.key_file.empty()) args->insert(args->end(), {"--key-file", in.key_file});
}

Step Command(std::string title, std::vector<std::string> args, Server server, const PlanInput& in) {
  AddRepo(in, &args);
  return {.kind = Step::Kind::kCommand, .title = std::move(title), .args = std::move(args), .server = server};
}

Step Verify(const std::string& where) {
  return {.kind = Step::Kind::kVerify,
          .title = "verify " + where +
                   ": connect, row counts against the backup's manifest, schema check when "
                   "schema.expect is set, migration state"};
}

Step Manual(std::string title, std::string detail = "") {
  return {.kind = Step::Kind::kManual, .title = std::move(title), .detail = std::move(detail)};
}

// Where a physical recovery stops: the end of the WAL archive, just before the incident,
// or (an intrusion of unknown start) the moment the backup became consistent.
enum class Until { kArchiveEnd, kBeforeIncident, kBackupEnd };

std::vector<std::string> PhysicalRestoreArgs(const repo::Manifest& m, const PlanInput& in, Until until) {
  std::vector<std::string> a = {"restore", m.id, "--pgdata", in.side_pgdata};
  if (until == Until::kBeforeIncident && in.before_us) {
    a.insert(a.end(), {"--target-time", in.before_text, "--target-exclusive"});
  } else if (until != Until::kArchiveEnd) {
    a.push_back("--immediate");
  }
  a.insert(a.end(), {"--start", "--port", std::to_string(in.port)});
  return a;
}

Step ResetPasswords(const PlanInput& in, Server server) {
  std::vector<std::string> r = {"roles", "reset-passwords"};
  if (!in.passwords_file.empty()) {
    r.insert(r.end(), {"--file", in.passwords_file});
  } else {
    r.insert(r.end(), {"--from-env", in.passwords_env});
  }
  r.push_back("--ignore-missing");
  return {.kind = Step::Kind::kCommand, .title = "set new passwords for the roles", .args = r, .server = server};
}

Step RotateManually(const PlanInput& in) {
  return Manual("rotate the passwords of every role that can log in",
                (in.login_roles.empty() ? std::string("(no login roles found)")
                                        : "roles: " + Join(in.login_roles, ", ")) +
                    "; pgkeeper roles reset-passwords --file PASSWORDS (or rerun dr with --passwords-file)");
}

Step RotateOtherSecrets() {
  return Manual("rotate the other secrets the intruder may have seen",
                "the repository key (pgkeeper repo rekey), S3 credentials (AWS_*), the application's own secrets; "
                "review pg_hba.conf and who can reach the server");
}

Status NeedPhysicalFlags(const PlanInput& in) {
  if (in.side_pgdata.empty() || in.port <= 0) {
    return Status::InvalidArgument("a physical recovery needs --pgdata DIR and --port P",
                                   "DIR: a new or empty directory for the restored cluster; P: a free port it "
                                   "listens on (the live server keeps its own)");
  }
  return Status::Ok();
}

void ReplaceFlags(const PlanInput& in, std::vector<std::string>* a) {
  a->push_back("--yes");  // dr asked for the confirmation itself (the database's name, typed)
  if (in.terminate_sessions) a->push_back("--terminate-sessions");
  if (in.no_safety_backup) a->push_back("--no-safety-backup");
}

Status BuildCorruption(const PlanInput& in, const repo::Manifest& m, Plan* p) {
  p->steps.push_back(
      Command("verify every file of backup " + m.id + " before anything changes", {"verify", m.id}, Server::kNone, in));
  if (p->method == "logical") {
    std::vector<std::string> a = {"restore", m.id, "--replace", in.database};
    ReplaceFlags(in, &a);
    p->steps.push_back(Command("restore " + m.id + " in place of " + in.database +
                                   (in.no_safety_backup ? "" : " (after a safety backup of the damaged database)"),
                               a, Server::kSource, in));
    p->replaces_live = true;
    p->side_conn_db = in.database;
    p->steps.push_back(Verify("database " + in.database));
    return Status::Ok();
  }
  PGK_RETURN_IF_ERROR(NeedPhysicalFlags(in));
  p->steps.push_back(Command("restore " + m.id + " into " + in.side_pgdata +
                                 " and recover to the end of the WAL archive, on port " + std::to_string(in.port),
                             PhysicalRestoreArgs(m, in, Until::kArchiveEnd), Server::kNone, in));
  p->side_conn_db = in.database;
  p->side_port = in.port;
  p->steps.push_back(Verify("the restored server on port " + std::to_string(in.port)));
  p->steps.push_back(Manual("stop the damaged server and point the application at the restored one",
                            "the restored cluster runs from " + in.side_pgdata + " on port " + std::to_string(in.port) +
                                "; keep the damaged data directory for analysis"));
  return Status::Ok();
}

Status BuildDeletion(const PlanInput& in, const repo::Manifest& m, Plan* p) {
  std::string tables = Join(in.tables, ", ");
  if (p->method == "logical") {
    p->steps.push_back(Command("restore " + m.id + " (" + m.start_time + ") into the side database " + in.side_db,
                               {"restore", m.id, "--into", in.side_db}, Server::kSource, in));
    p->side_conn_db = in.side_db;
  } else {
    PGK_RETURN_IF_ERROR(NeedPhysicalFlags(in));
    p->steps.push_back(Command("restore " + m.id + " into " + in.side_pgdata + ", recover to just before " +
                                   in.before_text + " and start it on port " + std::to_string(in.port),
                               PhysicalRestoreArgs(m, in, Until::kBeforeIncident), Server::kNone, in));
    p->side_conn_db = in.database;
    p->side_port = in.port;
  }
  for (const auto& t : in.tables) {
    p->steps.push_back(
        {.kind = Step::Kind::kExport,
         .title = "export the rows of " + t + " that are missing or changed in the live table to " + in.export_dir,
         .table = t});
  }
  p->steps.push_back(Verify(p->method == "logical" ? "the side database " + in.side_db
                                                   : "the restored server on port " + std::to_string(in.port)));
  p->steps.push_back(Manual("review the exported rows and load them back into " + in.database,
                            "e.g. psql -c \"\\copy " + in.tables.front() + " FROM '" + in.export_dir + "/" +
                                in.tables.front() + ".csv' CSV HEADER\" (changed rows: UPDATE by primary key)"));
  p->steps.push_back(Manual(p->method == "logical"
                                ? "drop the side database " + in.side_db + " when done"
                                : "stop the side server when done: pg_ctl stop -D " + in.side_pgdata));
  p->notes.push_back("tables: " + tables + "; the live database " + in.database + " is not changed");
  return Status::Ok();
}

Status BuildServerLost(const PlanInput& in, const repo::Manifest& m, Plan* p) {
  if (p->method == "logical") {
    if (!in.has_target_server) {
      return Status::InvalidArgument("--scenario server-lost needs --to URL: the new server to restore onto",
                                     "any database on it, e.g. postgresql://admin@new-db/postgres");
    }
    std::string into = in.target_into.empty() ? in.database : in.target_into;
    if (const auto* g = NewestGlobals(in)) {
      p->steps.push_back(Command("restore the roles of globals backup " + g->id + " (without passwords)",
                                 {"restore", g->id, "--type", "globals", "--no-tablespaces"}, Server::kTarget, in));
    }
    p->steps.push_back(Command("restore " + m.id + " into " + into + " on the new server",
                               {"restore", m.id, "--into", into}, Server::kTarget, in));
    p->side_conn_db = into;
    p->side_on_target = true;
    p->steps.push_back(Verify("database " + into + " on the new server"));
    if (NewestGlobals(in)) {
      p->steps.push_back(Manual("set the restored roles' passwords on the new server",
                                "pgkeeper roles reset-passwords --db <new server> --file PASSWORDS"));
    }
    p->steps.push_back(Manual("point the application at the new server",
                              "set its DATABASE_URL to the new server's database " + into +
                                  ", and re-enable WAL archiving and scheduled backups there"));
    return Status::Ok();
  }
  PGK_RETURN_IF_ERROR(NeedPhysicalFlags(in));
  p->steps.push_back(Command(
      "restore " + m.id + " into " + in.side_pgdata + " on this (new) server and recover to the end of the WAL archive",
      PhysicalRestoreArgs(m, in, Until::kArchiveEnd), Server::kNone, in));
  p->side_conn_db = in.database;
  p->side_port = in.port;
  p->steps.push_back(Verify("the restored server on port " + std::to_string(in.port)));
  p->steps.push_back(Manual("point the application at this server (port " + std::to_string(in.port) + ")",
                            "then set up archiving again: pgkeeper setup-archiving --apply"));
  return Status::Ok();
}

Status BuildSecurity(const PlanInput& in, const repo::Manifest& m, Plan* p) {
  bool rotate = !in.passwords_file.empty() || !in.passwords_env.empty();
  p->steps.push_back(
      Command("verify every file of backup " + m.id + " before anything changes", {"verify", m.id}, Server::kNone, in));
  if (p->method == "physical") {
    // The intruded cluster stays as it is (evidence, and the way back): the clean state
    // comes up beside it, from before the incident.
    PGK_RETURN_IF_ERROR(NeedPhysicalFlags(in));
    std::string until = in.before_us ? "recover to just before " + in.before_text
                                     : "recover to the end of the backup (" + m.stop_time + ")";
    p->steps.push_back(Command("restore " + m.id + " into " + in.side_pgdata + ", " + until + " and start it on port " +
                                   std::to_string(in.port),
                               PhysicalRestoreArgs(m, in, in.before_us ? Until::kBeforeIncident : Until::kBackupEnd),
                               Server::kNone, in));
    p->side_conn_db = in.database;
    p->side_port = in.port;
    p->steps.push_back(rotate ? ResetPasswords(in, Server::kRestored) : RotateManually(in));
    p->steps.push_back(RotateOtherSecrets());
    p->steps.push_back(Verify("the restored server on port " + std::to_string(in.port)));
    p->steps.push_back(Manual("stop the intruded server and point the application at the restored one",
                              "the restored cluster runs from " + in.side_pgdata + " on port " +
                                  std::to_string(in.port) +
                                  "; keep the intruded data directory untouched as evidence"));
    return Status::Ok();
  }
  std::vector<std::string> a = {"restore", m.id, "--replace", in.database};
  ReplaceFlags(in, &a);
  p->steps.push_back(
      Command("restore " + m.id + " (" + m.start_time + ") in place of " + in.database +
                  (in.no_safety_backup ? "" : "; the safety backup keeps the intruded state as evidence"),
              a, Server::kSource, in));
  p->replaces_live = true;
  p->side_conn_db = in.database;
  p->steps.push_back(rotate ? ResetPasswords(in, Server::kSource) : RotateManually(in));
  p->steps.push_back(RotateOtherSecrets());
  p->steps.push_back(Verify("database " + in.database));
  return Status::Ok();
}

}  // namespace

Result<Scenario> ParseScenario(const std::string& text) {
  for (const auto& n : kNames) {
    if (text == n.name) return n.scenario;
  }
  if (text == "corrupt" || text == "corrupted") return Scenario::kCorruption;
  if (text == "delete" || text == "deleted" || text == "accidental-deletion") return Scenario::kDeletion;
  if (text == "lost" || text == "server" || text == "server-loss") return Scenario::kServerLost;
  if (text == "security-incident" || text == "breach" || text == "intrusion") return Scenario::kSecurityIncident;
  return Status::InvalidArgument("unknown scenario " + text, "one of: corruption, deletion, server-lost, security");
}

const char* ScenarioName(Scenario s) {
  for (const auto& n : kNames) {
    if (n.scenario == s) return n.name;
  }
  return "?";
}

const char* ScenarioSummary(Scenario s) {
  for (const auto& n : kNames) {
    if (n.scenario == s) return n.summary;
  }
  return "";
}

Result<Plan> BuildPlan(const PlanInput& in) {
  if (in.method != "" && in.method != "logical" && in.method != "physical") {
    return Status::InvalidArgument("unknown --method " + in.method, "logical or physical");
  }
  if (in.scenario == Scenario::kDeletion) {
    if (!in.before_us) {
      return Status::InvalidArgument("--scenario deletion needs --before TIME: when the rows were deleted",
                                     "the restore goes back to just before it, e.g. --before \"2026-12-06 10:00:00\" "
                                     "(UTC without an offset)");
    }
    if (in.tables.empty()) {
      return Status::InvalidArgument("--scenario deletion needs --table SCHEMA.TABLE (repeatable)",
                                     "the tables whose rows were lost: their missing rows are exported to CSV");
    }
  }
  Plan p;
  p.scenario = in.scenario;
  p.database = in.database;
  p.method = in.method;
  const repo::Manifest* m = nullptr;
  if (p.method.empty()) {
    // Logical when one fits: restoring one database is quicker and needs no free port or
    // data directory. --method physical chooses point-in-time recovery.
    m = Newest(in, "logical");
    p.method = m ? "logical" : "physical";
    if (!m) m = Newest(in, "physical");
    if (!m) return NoBackup(in, "logical");
  } else {
    m = Newest(in, p.method);
    if (!m) return NoBackup(in, p.method);
  }
  if (p.method == "logical" && p.database.empty()) p.database = m->database;
  if (p.database.empty()) {
    return Status::InvalidArgument("which database? name it in --db (its database part)");
  }
  if (in.scenario == Scenario::kDeletion && p.method == "logical" && in.side_db.empty()) {
    return Status::InvalidArgument("--scenario deletion needs --side-db NAME: a new database for the earlier state");
  }
  if (in.scenario == Scenario::kDeletion && p.method == "logical" && in.side_db == p.database) {
    return Status::InvalidArgument("--side-db must differ from the live database " + p.database);
  }
  p.backup_id = m->id;
  if (p.method == "logical") {
    p.backup_time = m->start_time;
    p.restored_point_us = LogicalPointUs(*m);
  } else {
    p.backup_time = m->stop_time;
    p.restored_point_us = m->physical ? m->physical->stop_us : IsoToUs(m->stop_time);
    // Recovery stops at the incident time (deletion, security); otherwise at the end of
    // the archive, which recovery reports when it gets there.
    if (in.before_us && (in.scenario == Scenario::kDeletion || in.scenario == Scenario::kSecurityIncident)) {
      p.restored_point_us = *in.before_us;
    }
  }
  PlanInput effective = in;
  effective.database = p.database;
  if (effective.export_dir.empty()) effective.export_dir = "dr-export";
  Status s;
  switch (in.scenario) {
    case Scenario::kCorruption:
      s = BuildCorruption(effective, *m, &p);
      break;
    case Scenario::kDeletion:
      s = BuildDeletion(effective, *m, &p);
      break;
    case Scenario::kServerLost:
      s = BuildServerLost(effective, *m, &p);
      break;
    case Scenario::kSecurityIncident:
      s = BuildSecurity(effective, *m, &p);
      break;
  }
  if (!s.ok()) return s;
  return p;
}

std::string CommandLine(const Step& step, const std::string& source_display, const std::string& target_display,
                        const std::string& restored_display) {
  auto quote = [](const std::string& a) {
    if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") ==
                          std::string::npos) {
      return a;
    }
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string line = "pgkeeper";
  if (step.server == Server::kSource) line += " --db " + quote(source_display);
  if (step.server == Server::kTarget) line += " --db " + quote(target_display);
  if (step.server == Server::kRestored) line += " --db " + quote(restored_display);
  for (const auto& a : step.args) line += " " + quote(a);
  return line;
}

}  // namespace pgk::dr
