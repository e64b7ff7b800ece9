// `pgkeeper local start|stop|status|destroy`: the embedded cluster, kept running between
// commands (detached), e.g. for `demo --keep` or for trying pgkeeper without a server.
#include <memory>

#include "cli/commands.h"
#include "cli/prompt.h"
#include "pg/local_cluster.h"

namespace pgk::cli {

namespace {

struct LocalArgs {
  std::string dir;
};

Result<std::unique_ptr<pg::LocalCluster>> OpenCluster(const Context& ctx, const LocalArgs& args) {
  return pg::LocalCluster::Open({.dir = ctx.LocalDir(args.dir), .detached = true});
}

nlohmann::json StatusJson(const pg::LocalCluster& c) {
  auto pid = c.RunningPid();
  nlohmann::json j = {{"dir", c.dir().string()},
                      {"initialized", c.initialized()},
                      {"running", pid.has_value()},
                      {"pid", pid ? nlohmann::json(*pid) : nlohmann::json(nullptr)},
                      {"port", c.port()},
                      {"url", c.initialized() ? c.Url() : ""},
                      {"pgpass", c.pgpass_path().string()},
                      {"postgres_version", c.binaries().major}};
  return j;
}

void PrintConnectHelp(const Output& out, const pg::LocalCluster& c) {
  out.Line("  url      " + c.Url());
  out.Line("  connect  PGPASSFILE=" + c.pgpass_path().string() + " psql " + c.Url());
  out.Line("  log      " + c.log_path().string());
}

}  // namespace

void SetupLocal(CLI::App* cmd, Handler* handler) {
  auto args = std::make_shared<LocalArgs>();
  cmd->require_subcommand(1);
  auto* start = cmd->add_subcommand("start", "Create (initdb) if needed and start the cluster; it keeps running");
  auto* stop = cmd->add_subcommand("stop", "Stop the cluster (fast shutdown)");
  auto* status = cmd->add_subcommand("status", "Show whether the cluster runs, its port and URL");
  auto* destroy = cmd->add_subcommand("destroy", "Stop the cluster and delete its directory (asks for confirmation, or --yes)");
  for (auto* sub : {start, stop, status, destroy}) {
    sub->add_option("--dir", args->dir, "Cluster directory (default: local.dir in the config, or ./.pgkeeper-demo)");
  }
  *handler = [=](Context& ctx) {
    auto cluster = OpenCluster(ctx, *args);
    if (!cluster.ok()) return ctx.Fail(cluster.status());
    auto& c = **cluster;
    if (start->parsed()) {
      Status s = c.Init();
      if (s.ok()) s = c.Start();
      if (!s.ok()) return ctx.Fail(s);
      if (ctx.out.json()) {
        auto j = StatusJson(c);
        j["already_running"] = c.already_running();
        ctx.out.Json(j);
      } else {
        ctx.out.Line(std::string(c.already_running() ? "already running" : "started") + ": PostgreSQL " +
                     std::to_string(c.binaries().major) + " in " + c.dir().string() + " on 127.0.0.1:" +
                     std::to_string(c.port()));
        PrintConnectHelp(ctx.out, c);
      }
      return 0;
    }
    if (stop->parsed()) {
      bool was_running = c.RunningPid().has_value();
      Status s = c.Stop();
      if (!s.ok()) return ctx.Fail(s);
      if (ctx.out.json()) {
        ctx.out.Json({{"dir", c.dir().string()}, {"stopped", was_running}});
      } else {
        ctx.out.Line(was_running ? "stopped " + c.dir().string() : "not running: " + c.dir().string());
      }
      return 0;
    }
    if (status->parsed()) {
      auto j = StatusJson(c);
      if (ctx.out.json()) {
        ctx.out.Json(j);
      } else if (!c.initialized()) {
        ctx.out.Line("no cluster in " + c.dir().string() + " (create one with `pgkeeper local start`)");
      } else {
        ctx.out.Line(std::string(j["running"] ? "running" : "stopped") + ": PostgreSQL " +
                     std::to_string(c.binaries().major) + " in " + c.dir().string() +
                     (j["running"] ? ", pid " + j["pid"].dump() + ", port " + std::to_string(c.port()) : ""));
        if (j["running"]) PrintConnectHelp(ctx.out, c);
      }
      // Like systemctl status: 0 running, 1 not running, so scripts can test it.
      return j["running"] ? 0 : 1;
    }
    if (destroy->parsed()) {
      Status s = Confirm(ctx, "Destroying " + c.dir().string() + " deletes the cluster and all its data");
      if (!s.ok()) return ctx.Fail(s);
      s = c.Destroy();
      if (!s.ok()) return ctx.Fail(s);
      if (ctx.out.json()) {
        ctx.out.Json({{"dir", c.dir().string()}, {"destroyed", true}});
      } else {
        ctx.out.Line("destroyed " + c.dir().string());
      }
      return 0;
    }
    return 2;
  };
}

}  // namespace pgk::cli
