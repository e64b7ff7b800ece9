#include "physical/source.h"

#include "wal/control.h"

namespace pgk::physical {

namespace {

// A walsender needs REPLICATION (or superuser); asking first gives a better message than
// the server's refusal, and refuses before a repository is touched.
Status CheckReplicationRole(pg::Connection& conn, const std::string& why) {
  auto allowed =
      conn.QueryValue("SELECT (rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user");
  if (!allowed.ok()) return allowed.status().WithContext("cannot read the role's attributes");
  if (*allowed == "true") return Status::Ok();
  return Status::Refused("role " + conn.user() + " may not open a replication connection" + why,
                         "ALTER ROLE " + conn.user() +
                             " REPLICATION (as a superuser), allow it in pg_hba.conf "
                             "(`host replication " +
                             conn.user() +
                             " <address> scram-sha-256`); or run the backup on the "
                             "database host as the data directory's owner with --source pgdata");
}

}  // namespace

Result<std::string> ResolvePgdata(const std::string& flag, const ServerInfo& s) {
  std::string dir = !flag.empty() ? flag : s.data_directory;
  if (dir.empty()) {
    return Status::InvalidArgument("the server does not tell this role its data_directory",
                                   "pass --pgdata with the data directory's path, or use --source replication");
  }
  auto control = wal::ReadControlFile(dir);
  if (!control.ok()) {
    return Status::InvalidArgument("cannot read " + dir + "/global/pg_control: " + control.status().message(),
                                   "--source pgdata runs on the database host, as root or the data directory's owner; "
                                   "pass --pgdata if the server's data_directory differs here, or use --source "
                                   "replication");
  }
  if (std::to_string(control->system_identifier) != s.system_identifier) {
    return Status::Refused(dir + " belongs to cluster " + std::to_string(control->system_identifier) +
                               ", the server at --db is cluster " + s.system_identifier,
                           "run the backup on the server's host, with --pgdata naming its data directory, or use "
                           "--source replication");
  }
  return dir;
}

Result<SourceChoice> ChooseSource(pg::Connection& conn, const std::string& requested, const std::string& pgdata_flag,
                                  const ServerInfo& server) {
  SourceChoice c;
  if (requested == "pgdata") {
    PGK_ASSIGN_OR_RETURN(c.pgdata, ResolvePgdata(pgdata_flag, server));
    c.source = "pgdata";
    c.why = "--source pgdata";
    return c;
  }
  if (requested == "replication") {
    if (!pgdata_flag.empty()) {
      return Status::InvalidArgument("--pgdata applies to --source pgdata",
                                     "leave out --pgdata or --source replication");
    }
    PGK_RETURN_IF_ERROR(CheckReplicationRole(conn, ""));
    c.source = "replication";
    c.why = "--source replication";
    return c;
  }
  if (requested != "auto") return Status::InvalidArgument("--source must be auto, pgdata or replication");
  auto pgdata = ResolvePgdata(pgdata_flag, server);
  if (pgdata.ok()) {
    c.source = "pgdata";
    c.pgdata = *pgdata;
    c.why = "the data directory " + *pgdata + " is readable here";
    return c;
  }
  // An explicit --pgdata that does not fit is a mistake to report, not a reason to switch.
  if (!pgdata_flag.empty()) return pgdata.status();
  std::string reason = server.data_directory.empty()
                           ? "the server does not tell this role its data directory"
                           : "the data directory " + server.data_directory + " is not this server's here (" +
                                 pgdata.status().message() + ")";
  PGK_RETURN_IF_ERROR(CheckReplicationRole(conn, ", and " + reason));
  c.source = "replication";
  c.why = reason;
  return c;
}

}  // namespace pgk::physical
