// What every command handler gets: the global options, the loaded config, the output,
// and helpers that resolve and open the database connection the same way everywhere.
#pragma once

#include <optional>
#include <string>

#include "cli/output.h"
#include "common/interrupt.h"
#include "common/config.h"
#include "pg/connection.h"
#include "pg/conninfo.h"

namespace pgk::cli {

struct GlobalOptions {
  std::string db;
  std::string config_path;  // empty: ./pgkeeper.toml when present
  bool json = false;
  int verbose = 0;
  bool quiet = false;
  bool yes = false;
};

class Context {
 public:
  GlobalOptions options;
  Config config;
  Output out;

  // --db, DATABASE_URL, config file, libpq environment (first that is set).
  Result<pg::ConnTarget> Target() const;
  Result<pg::Connection> Connect(const std::string& application_name = "pgkeeper") const;
  // The embedded cluster's directory: the flag, else local.dir, else ./.pgkeeper-demo.
  std::string LocalDir(const std::string& flag) const {
    if (!flag.empty()) return flag;
    return config.GetString("local.dir").value_or(".pgkeeper-demo");
  }
  // Prints the error (and JSON error document) and returns its exit code.
  int Fail(const Status& status) const {
    // After Ctrl-C, failures are the interrupt's doing: the signal thread reports it.
    if (!Interrupted()) out.Error(status);
    return status.exit_code();
  }
};

}  // namespace pgk::cli
