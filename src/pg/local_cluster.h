// The embedded local PostgreSQL cluster used by `demo`, `local`, drills and the tests.
//
// Layout of the cluster directory (`dir`):
//   cluster.json   state: port, superuser, generated password, binaries (0600, ours)
//   pgpass         a libpq password file for the cluster, for `psql` and friends (0600)
//   postgres.log   the server's log
//   data/          PGDATA (owned by the `postgres` system user when we run as root; if that
//                  user cannot reach `dir`, data/ is a symlink to /var/tmp/pgkeeper-clusters/)
//
// The server listens on 127.0.0.1 only, on a free port chosen at first start, with
// scram-sha-256 authentication and data checksums. No Unix socket is created, so the
// directory may be anywhere regardless of the 107-byte socket path limit.
//
// Attached mode (the default): the server is our child, stopped when we exit, even on
// SIGINT (interrupt hook) or kill -9 (the kernel's parent-death signal). Detached mode
// (`demo --keep`, `local start`): the server keeps running until `local stop`.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"
#include "pg/binaries.h"

namespace pgk::pg {

struct LocalClusterOptions {
  std::filesystem::path dir;
  bool detached = false;
  std::vector<std::string> settings;  // extra "name=value" server settings
  int start_timeout_s = 60;
};

class LocalCluster {
 public:
  // Opens (does not create or start) the cluster at options.dir.
  static Result<std::unique_ptr<LocalCluster>> Open(LocalClusterOptions options);
  ~LocalCluster();  // stops the server if we started it attached

  bool initialized() const;
  // initdb if the directory holds no cluster yet; a no-op otherwise.
  Status Init();
  // Starts the server; if it is already running (from an earlier `--keep` or a second
  // Start) it is reused and `already_running()` says so.
  Status Start();
  Status Stop();
  // Stops the server and removes the whole directory.
  Status Destroy();

  std::optional<pid_t> RunningPid() const;
  bool already_running() const { return already_running_; }
  int port() const { return port_; }
  const std::string& superuser() const { return superuser_; }
  const std::filesystem::path& dir() const { return options_.dir; }
  std::filesystem::path data_dir() const { return options_.dir / "data"; }
  std::filesystem::path pgpass_path() const { return options_.dir / "pgpass"; }
  std::filesystem::path log_path() const { return options_.dir / "postgres.log"; }
  const PgBinaries& binaries() const { return bin_; }

  // Full conninfo including the password: for our own libpq connections only, never print.
  std::string ConnInfo(const std::string& dbname = "postgres") const;
  // postgresql://postgres@127.0.0.1:PORT/dbname: safe to print (password in pgpass).
  std::string Url(const std::string& dbname = "postgres") const;

  // CREATE DATABASE (dropping an existing one first if `replace`).
  Status CreateDatabase(const std::string& name, bool replace = false);

 private:
  explicit LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {}
  Status LoadState();
  Status SaveState();
  Status PrepareDataDir();
  Status StartOnce(bool* port_in_use);
  Status WaitReady(Process* child, bool* port_in_use);
  std::optional<UserInfo> ServerUser() const;
  std::filesystem::path RealDataDir() const;

  LocalClusterOptions options_;
  PgBinaries bin_;
  int port_ = 0;
  std::string superuser_ = "postgres";
  std::string password_;
  bool already_running_ = false;
  std::optional<Process> child_;  // attached server we started
  pid_t started_pid_ = 0;         // detached server we started
  int cleanup_hook_ = 0;
};

// A free TCP port on 127.0.0.1 (bind to port 0 and read it back).
Result<int> FindFreePort();

}  // namespace pgk::pg
