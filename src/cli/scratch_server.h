// Where `drill` and `verify --restore-test` put their scratch databases: the embedded
// cluster (started when it is not running, stopped again when done) or the --db server.
#pragma once

#include <memory>
#include <string>

#include "cli/context.h"
#include "pg/local_cluster.h"

namespace pgk::cli {

class ScratchServer {
 public:
  // target "local": the embedded cluster in ctx.LocalDir(dir), initialised and started
  // if needed; "server": the --db server (ctx.Target()).
  static Result<std::unique_ptr<ScratchServer>> Start(const Context& ctx, const std::string& target,
                                                      const std::string& dir);
  // A conninfo to any database on the server (where CREATE DATABASE runs).
  const std::string& conninfo() const { return conninfo_; }
  // Stops the embedded cluster if Start started it; one that was running stays up.
  Status Stop();

 private:
  std::unique_ptr<pg::LocalCluster> cluster_;
  std::string conninfo_;
};

}  // namespace pgk::cli
