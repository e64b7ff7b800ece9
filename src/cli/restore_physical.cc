// `restore --pgdata DIR [--target-...] [--start]`: options, choice of the base backup,
// confirmation, run and report.
#include "cli/restore_physical.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/prompt.h"
#include "common/log.h"
#include "common/process.h"
#include "physical/restore.h"
#include "physical/restore_fs.h"
#include "physical/start.h"
#include "pipeline/key.h"
#include "restore/open.h"
#include "wal/archive.h"

namespace pgk::cli {

namespace {

Result<repo::Manifest> PickBackup(repo::Repository& repository, const std::string& id, const physical::RecoveryTarget& t) {
  if (id.empty() || id == "latest") {
    PGK_ASSIGN_OR_RETURN(auto all, repository.ListBackups());
    return physical::ChooseBackup(all, t);
  }
  PGK_ASSIGN_OR_RETURN(repo::Manifest m, repository.LoadBackup(id));
  if (m.type != "physical") {
    return Status::InvalidArgument("backup " + id + " is a " + m.type + " backup; --pgdata restores physical backups",
                                   "restore it with --into NEWDB");
  }
  if (!physical::CanReach(m, t)) {
    return Status::Refused("backup " + id + " cannot reach " + t.Describe() + ": it becomes consistent only at " +
                               m.physical->stop_lsn + " (" + physical::FormatTimestampUtc(m.physical->stop_us) + ")",
                           "leave out the backup id to pick one automatically");
  }
  return m;
}

void Report(const Context& ctx, const repo::Manifest& m, const physical::PhysicalRestoreOptions& o,
            const physical::PhysicalRestoreReport& r, const std::optional<physical::StartReport>& s,
            const std::string& key_warning) {
  const Output& out = ctx.out;
  if (out.json()) {
    nlohmann::json started = nullptr;
    if (s) {
      started = {{"reached_lsn", s->reached_lsn}, {"reached_time", s->reached_time.empty() ? nlohmann::json(nullptr) : nlohmann::json(s->reached_time)},
                 {"promoted", s->promoted}, {"timeline", s->timeline}, {"running", s->running}, {"pid", s->pid},
                 {"port", s->port}, {"log", s->log}};
    }
    nlohmann::json j = {{"backup", r.backup_id},      {"type", "physical"},          {"mode", m.physical->mode},
                        {"pgdata", r.pgdata},         {"files_written", r.files_written}, {"files_kept", r.files_kept},
                        {"files_removed", r.files_removed}, {"bytes_written", r.bytes_written},
                        {"owner", r.owner},           {"target", o.target.Describe()}, {"settings", r.settings},
                        {"seconds", r.seconds},       {"started", started}};
    if (!key_warning.empty()) j["warning"] = key_warning;
    out.Json(j);
    return;
  }
  std::string kept = r.files_kept > 0 ? ", " + std::to_string(r.files_kept) + " kept" : "";
  std::string removed = r.files_removed > 0 ? ", " + std::to_string(r.files_removed) + " removed" : "";
  out.Line("restored " + m.physical->mode + " backup " + r.backup_id + " into " + r.pgdata + ": " +
           std::to_string(r.files_written) + " files written (" + FormatBytes(static_cast<int64_t>(r.bytes_written)) +
           ")" + kept + removed + ", owner " + r.owner + ", in " + FormatDuration(r.seconds));
  out.Line("  recovery target: " + o.target.Describe() + "; WAL from the repository via wal-fetch");
  if (!key_warning.empty()) out.Line(out.Yellow("warning: ") + key_warning);
  if (!s) {
    out.Line("  start the server to recover: pg_ctl start -D " + r.pgdata + "  (or rerun with --start)");
    return;
  }
  std::string at = s->reached_time.empty() ? s->reached_lsn : s->reached_lsn + " (last commit " + s->reached_time + ")";
  out.Line(out.Green("recovered") + " to " + at + (s->promoted ? ", promoted to timeline " + std::to_string(s->timeline) : ""));
  if (s->running) {
    out.Line("  server running: pid " + std::to_string(s->pid) + ", port " + std::to_string(s->port) + ", log " + s->log);
  } else {
    out.Line("  the server was shut down at the target (--target-action shutdown)");
  }
}

}  // namespace

void AddPhysicalRestoreOptions(CLI::App* cmd, PhysicalRestoreArgs* a) {
  cmd->add_option("--pgdata", a->pgdata, "Restore a physical backup into this data directory (empty or new)");
  cmd->add_flag("--delta", a->delta,
                "--pgdata is an earlier restore: keep files whose checksum matches, rewrite the rest, remove files the "
                "backup lacks (asks for confirmation)");
  cmd->add_flag("--force", a->force, "Overwrite a non-empty --pgdata completely (asks for confirmation)");
  cmd->add_option("--target-time", a->target.time, "Recover to this time (YYYY-MM-DD HH:MM:SS[.ffffff][+HH]; UTC without offset)");
  cmd->add_option("--target-xid", a->target.xid, "Recover to the commit of this transaction");
  cmd->add_option("--target-lsn", a->target.lsn, "Recover to this WAL position (e.g. 0/3000028)");
  cmd->add_option("--target-name", a->target.name, "Recover to this restore point (pg_create_restore_point)");
  cmd->add_flag("--immediate", a->target.immediate, "Recover only until the backup is consistent");
  cmd->add_flag("--target-exclusive", a->target.exclusive, "Stop just before the target instead of just after it");
  cmd->add_option("--target-timeline", a->target.timeline, "latest (default), current or a timeline number");
  cmd->add_option("--target-action", a->target.action, "At the target: promote (default), pause or shutdown");
  cmd->add_flag("--start", a->start,
                "Start the server, wait until recovery reaches the target, promote, report the point reached");
  cmd->add_option("--port", a->port, "With --start: the port the restored server listens on")->check(CLI::Range(1, 65535));
  cmd->add_option("--start-timeout", a->start_timeout_s, "With --start: seconds recovery may take (default: no limit)")
      ->check(CLI::NonNegativeNumber);
}

int RunPhysicalRestoreCommand(const Context& ctx, const std::string& id, const std::string& repo_flag,
                              const std::string& key_file_flag, int jobs, const PhysicalRestoreArgs& a) {
  if (a.pgdata.empty()) {
    return ctx.Fail(Status::InvalidArgument("a physical restore needs --pgdata DIR",
                                            "name a new or empty directory for the restored cluster"));
  }
  if ((a.port > 0 || a.start_timeout_s > 0) && !a.start) {
    return ctx.Fail(Status::InvalidArgument("--port and --start-timeout apply with --start"));
  }
  auto target = physical::ParseTarget(a.target);
  if (!target.ok()) return ctx.Fail(target.status());
  auto repository = restore::OpenRepositoryForReading(repo_flag, key_file_flag, ctx.config);
  if (!repository.ok()) return ctx.Fail(repository.status());
  auto m = PickBackup(**repository, id, *target);
  if (!m.ok()) return ctx.Fail(m.status());

  std::string pgdata = std::filesystem::absolute(a.pgdata).lexically_normal().string();
  auto state = physical::InspectTarget(pgdata);
  if (!state.ok()) return ctx.Fail(state.status());
  if (!state->empty && (a.delta || a.force)) {
    Status confirmed = Confirm(ctx, std::string(a.force ? "--force overwrites " : "--delta rewrites ") + pgdata +
                                        " and removes the files backup " + m->id + " does not have");
    if (!confirmed.ok()) return ctx.Fail(confirmed);
  }

  // restore_command runs as the server, from its own environment: name everything it
  // needs on its command line (the key by file, never the key itself).
  std::string key_file = !key_file_flag.empty() ? key_file_flag : ctx.config.GetString("repository.key_file").value_or("");
  std::string key_warning;
  if ((*repository)->repo_key()) {
    if (key_file.empty()) {
      key_warning = std::string("the repository key came from ") + pipeline::kKeyEnvVar +
                    ": the server's restore_command needs it too (set it in the server's environment, or restore with "
                    "--key-file)";
    } else {
      key_file = std::filesystem::absolute(key_file).string();
    }
  }
  physical::PhysicalRestoreOptions o;
  o.pgdata = pgdata;
  o.delta = a.delta;
  o.force = a.force;
  o.jobs = jobs;
  o.target = *target;
  o.restore_command = wal::RestoreCommand({.binary = SelfExecutable(), .repo_url = (*repository)->Url(),
                                           .key_file = (*repository)->repo_key() ? key_file : ""});
  bool tty = isatty(STDERR_FILENO) != 0 && !ctx.out.json();
  auto progress = [&](const std::string& event) {
    if (tty) {
      std::fprintf(stderr, "\r\033[K  %s", event.c_str());
      std::fflush(stderr);
    } else {
      log::Debug("{}", event);
    }
  };
  auto report = physical::RunPhysicalRestore(**repository, *m, o, progress);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!report.ok()) return ctx.Fail(report.status());
  std::optional<physical::StartReport> started;
  if (a.start) {
    physical::StartOptions so{.pgdata = pgdata, .target = *target, .superuser = m->physical->superuser,
                              .pg_major = m->physical->pg_version_num / 10000,
                              .owner = physical::DecideOwner(pgdata, m->physical->owner), .port = a.port,
                              .timeout_s = a.start_timeout_s};
    auto s = physical::StartAndRecover(so, progress);
    if (tty) std::fprintf(stderr, "\r\033[K");
    if (!s.ok()) return ctx.Fail(s.status().WithContext("restored " + m->id + " into " + pgdata + ", but recovery failed"));
    started = *s;
  }
  Report(ctx, *m, o, *report, started, key_warning);
  return 0;
}

}  // namespace pgk::cli
