#include "physical/start.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "common/process.h"
#include "pg/binaries.h"
#include "pg/conninfo.h"
#include "pg/connection.h"

namespace pgk::physical {

namespace {

using Clock = std::chrono::steady_clock;

std::string Tail(const std::string& path, size_t lines) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) return "";
  std::vector<std::string> all;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    all.push_back(text->substr(start, nl - start));
    start = nl + 1;
  }
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

std::optional<UserInfo> RunAs(const Owner& owner) {
  if (!owner.change) return std::nullopt;
  return UserInfo{.name = owner.name, .uid = owner.uid, .gid = owner.gid, .home = "/"};
}

// Lines of postmaster.pid: 1 pid, 4 port, 8 status ("starting", "ready", "standby", ...).
std::vector<std::string> PidFile(const std::string& pgdata) {
  std::ifstream in(pgdata + "/postmaster.pid");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void StopServer(Process& child) {
  child.Signal(SIGINT);  // fast shutdown
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!child.TryWait()) {
    if (Clock::now() > deadline) {
      child.Signal(SIGQUIT);
      child.Wait();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

class RecoveryRun {
 public:
  RecoveryRun(const StartOptions& o, const pg::PgBinaries& bin, std::string rundir)
      : o_(o), bin_(bin), rundir_(std::move(rundir)), log_(rundir_ + "/recovery.log") {}

  Status Start() {
    std::string hba = rundir_ + "/pg_hba.conf";
    PGK_RETURN_IF_ERROR(WriteSmallFile(hba, "local all all trust\n", o_.owner));
    port_ = o_.port > 0 ? o_.port : 5432;
    std::vector<std::string> argv = {bin_.Path("postgres"), "-D", o_.pgdata, "-p", std::to_string(port_),
                                     "-c", "listen_addresses=", "-c", "unix_socket_directories=" + rundir_,
                                     "-c", "hba_file=" + hba, "-c", "hot_standby=on"};
    if (o_.target.kind != RecoveryTarget::Kind::kLatest) {
      argv.insert(argv.end(), {"-c", "recovery_target_action=pause"});
    }
    ProcessOptions po{.argv = argv, .unset_env = {"PGDATA", "PGPORT", "PGHOST", "PGOPTIONS"}, .cwd = "/"};
    po.run_as = RunAs(o_.owner);
    po.output_file = log_;
    po.new_session = true;
    po.parent_death_signal = SIGINT;  // a killed pgkeeper must not leave this instance behind
    PGK_ASSIGN_OR_RETURN(Process p, Process::Spawn(po));
    child_.emplace(std::move(p));
    return Status::Ok();
  }

  // Waits until recovery paused at the target or ended; fills the point reached.
  Status Watch(StartReport* r, const std::function<void(const std::string&)>& progress) {
    std::string conninfo = pg::BuildConninfo({{"host", rundir_}, {"port", std::to_string(port_)},
                                              {"user", o_.superuser}, {"dbname", "postgres"}, {"connect_timeout", "5"}});
    auto deadline = Clock::now() + std::chrono::seconds(o_.timeout_s > 0 ? o_.timeout_s : 365 * 86400);
    bool said_consistent = false;
    for (;;) {
      if (auto code = child_->TryWait()) {
        child_.reset();
        std::string tail = Tail(log_, 12);
        std::string hint = tail.find("before configured recovery target was reached") != std::string::npos
                               ? "the archive ends before the target: pick an earlier target, or check `pgkeeper wal status`"
                               : "the server's log is above";
        return Status::ChildFailed("the restored server stopped during recovery (exit " + std::to_string(*code) + "):\n" + tail,
                                   hint);
      }
      if (Clock::now() > deadline) {
        return Status::Timeout("recovery did not reach " + o_.target.Describe() + " within " +
                               std::to_string(o_.timeout_s) + " s", "see " + log_);
      }
      auto conn = pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-restore"});
      if (conn.ok()) {
        if (!said_consistent) progress("recovery reached a consistent state");
        said_consistent = true;
        auto state = conn->Query(
            "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END, "
            "pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp()::text");
        if (state.ok()) {
          bool in_recovery = state->GetBool(0, 0);
          bool paused = state->GetBool(0, 1);
          if (!in_recovery || paused) {
            r->reached_lsn = state->GetString(0, 2);
            r->reached_time = state->GetString(0, 3);
            if (paused && o_.target.action == "promote") {
              progress("paused at " + r->reached_lsn + ": promoting");
              PGK_RETURN_IF_ERROR(conn->Exec("SELECT pg_promote(true, 300)"));
              r->promoted = true;
            }
            if (!in_recovery) r->promoted = true;
            if (r->promoted) {
              auto tli = conn->QueryValue("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)");
              if (tli.ok()) r->timeline = static_cast<uint32_t>(std::strtoul(tli->c_str(), nullptr, 16));
            }
            return Status::Ok();
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  void Stop() {
    if (child_) StopServer(*child_);
    child_.reset();
  }

  const std::string& log() const { return log_; }

 private:
  const StartOptions& o_;
  const pg::PgBinaries& bin_;
  std::string rundir_;
  std::string log_;
  int port_ = 5432;
  std::optional<Process> child_;
};

// The server as configured, detached: it outlives pgkeeper.
Status StartDetached(const StartOptions& o, const pg::PgBinaries& bin, StartReport* r) {
  std::string logdir = o.pgdata + "/log";
  PGK_RETURN_IF_ERROR(MakeDir(logdir, 0700, o.owner));
  r->log = logdir + "/pgkeeper-start.log";
  std::vector<std::string> argv = {bin.Path("postgres"), "-D", o.pgdata};
  if (o.port > 0) argv.insert(argv.end(), {"-p", std::to_string(o.port)});
  ProcessOptions po{.argv = argv, .unset_env = {"PGDATA", "PGPORT", "PGHOST", "PGOPTIONS"}, .cwd = "/"};
  po.run_as = RunAs(o.owner);
  po.output_file = r->log;
  po.new_session = true;
  PGK_ASSIGN_OR_RETURN(Process child, Process::Spawn(po));
  auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    if (auto code = child.TryWait()) {
      return Status::ChildFailed("the restored server did not start (exit " + std::to_string(*code) + "):\n" +
                                     Tail(r->log, 12),
                                 "fix the setting the log names (e.g. --port, unix_socket_directories) and start it "
                                 "with pg_ctl start -D " + o.pgdata);
    }
    auto lines = PidFile(o.pgdata);
    if (lines.size() >= 8 && (lines[7].rfind("ready", 0) == 0 || lines[7].rfind("standby", 0) == 0)) {
      r->pid = child.pid();
      r->port = std::atoi(lines[3].c_str());
      r->running = true;
      child.Detach();
      return Status::Ok();
    }
    if (Clock::now() > deadline) {
      child.Detach();
      return Status::Timeout("the restored server did not become ready within 120 s", "see " + r->log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Result<StartReport> StartAndRecover(const StartOptions& o, const std::function<void(const std::string&)>& progress) {
  PGK_ASSIGN_OR_RETURN(pg::PgBinaries bin, pg::FindPgBinaries(o.pg_major));
  if (bin.major != o.pg_major) {
    return Status::NotFound("PostgreSQL " + std::to_string(o.pg_major) + " server binaries are not installed (found " +
                                std::to_string(bin.major) + ")",
                            "install them, or set PGKEEPER_PG_BINDIR");
  }
  // A short, private path: Unix socket paths are limited to 107 bytes.
  char tmpl[] = "/tmp/pgkeeper-recover-XXXXXX";
  if (!::mkdtemp(tmpl)) return Status::IO(std::string("cannot create a directory in /tmp: ") + std::strerror(errno));
  std::string rundir = tmpl;
  if (o.owner.change && ::chown(rundir.c_str(), o.owner.uid, o.owner.gid) != 0) {
    return Status::IO("cannot chown " + rundir + ": " + std::strerror(errno));
  }
  StartReport report;
  RecoveryRun run(o, bin, rundir);
  Status s = run.Start();
  if (s.ok()) {
    progress("recovering towards " + o.target.Describe());
    s = run.Watch(&report, progress);
  }
  run.Stop();
  progress("recovery instance stopped");
  if (!s.ok()) {
    // Keep the log of a failed recovery next to the data, where the user looks.
    auto log = fs::ReadFile(run.log());
    (void)fs::WriteFile(o.pgdata + "/pgkeeper-recovery.log", log.ok() ? *log : "");
    (void)fs::RemoveAll(rundir);
    return s;
  }
  (void)fs::RemoveAll(rundir);
  if (o.target.action == "shutdown" && !report.promoted) return report;
  PGK_RETURN_IF_ERROR(StartDetached(o, bin, &report));
  return report;
}

}  // namespace pgk::physical
