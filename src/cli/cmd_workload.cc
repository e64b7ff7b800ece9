// `pgkeeper workload seed|run|verify`: the example application's data and traffic, and
// the invariant that later proves a restore lost nothing.
#include <memory>

#include "cli/commands.h"
#include "pg/conninfo.h"
#include "workload/run.h"
#include "workload/seed.h"
#include "workload/verify.h"

namespace pgk::cli {

namespace {

struct WorkloadArgs {
  int institutions = 12;
  int positions = 5000;
  uint64_t seed = 0;
  double rate = 200;
  double duration = 10;
  int clients = 2;
};

nlohmann::json InvariantJson(const workload::InvariantReport& r) {
  return {{"holds", r.holds()},
          {"positions", r.positions},
          {"position_events", r.position_events},
          {"ledger_events", r.ledger_events},
          {"count_mismatches", r.count_mismatches},
          {"broken_chains", r.broken_chains},
          {"unmatched_ledger_events", r.unmatched_ledger},
          {"unmatched_position_events", r.unmatched_events},
          {"examples", r.examples}};
}

}  // namespace

std::string DescribeInvariant(const workload::InvariantReport& r) {
  if (r.holds()) {
    return "invariant holds: " + FormatCount(r.positions) + " positions, " + FormatCount(r.position_events) +
           " position events, each matched by exactly one ledger event";
  }
  std::string msg = "invariant violated: " + std::to_string(r.count_mismatches) + " positions whose event count differs, " +
                    std::to_string(r.broken_chains) + " broken event chains, " + std::to_string(r.unmatched_ledger) +
                    " unmatched ledger events, " + std::to_string(r.unmatched_events) + " unmatched position events";
  if (!r.examples.empty()) {
    msg += " (e.g.";
    for (const auto& e : r.examples) msg += " " + e;
    msg += ")";
  }
  return msg;
}

void SetupWorkload(CLI::App* cmd, Handler* handler) {
  auto args = std::make_shared<WorkloadArgs>();
  cmd->require_subcommand(1);
  auto* seed = cmd->add_subcommand("seed", "Fill an empty example database with realistic data");
  seed->add_option("--institutions", args->institutions, "Institutions to create")->check(CLI::Range(1, 100000));
  seed->add_option("--positions", args->positions, "Positions to create")->check(CLI::Range(0, 50000000));
  seed->add_option("--seed", args->seed, "Random seed (same seed, same data)");
  auto* run = cmd->add_subcommand("run", "Move positions through their states at a target rate");
  run->add_option("--rate", args->rate, "State changes per second, all clients together (0: unthrottled)")
      ->check(CLI::Range(0.0, 1e6));
  run->add_option("--duration", args->duration, "Seconds to run")->check(CLI::Range(0.0, 1e7));
  run->add_option("--clients", args->clients, "Concurrent connections")->check(CLI::Range(1, 256));
  run->add_option("--seed", args->seed, "Random seed");
  cmd->add_subcommand("verify", "Check the invariant: events match state changes, ledger matches events (exit 1 if not)");
  *handler = [=](Context& ctx) {
    auto target = ctx.Target();
    if (!target.ok()) return ctx.Fail(target.status());
    auto conn = ctx.Connect();
    if (!conn.ok()) return ctx.Fail(conn.status());
    if (seed->parsed()) {
      workload::SeedOptions so{.institutions = args->institutions, .positions = args->positions};
      if (args->seed) so.random_seed = args->seed;
      auto st = workload::Seed(*conn, so);
      if (!st.ok()) return ctx.Fail(st.status().WithHint("seed an empty database that has the example schema "
                                                         "(examples/escrowgrid/migrations)"));
      if (ctx.out.json()) {
        ctx.out.Json({{"institutions", st->institutions}, {"positions", st->positions}, {"events", st->events},
                      {"rows", st->total_rows()}});
      } else {
        ctx.out.Line("seeded " + FormatCount(st->total_rows()) + " rows: " + FormatCount(st->institutions) +
                     " institutions, " + FormatCount(st->positions) + " positions, " + FormatCount(st->events) +
                     " state changes");
      }
      return 0;
    }
    if (run->parsed()) {
      auto st = workload::Run({.conninfo = target->conninfo, .rate = args->rate, .duration_s = args->duration,
                               .clients = args->clients, .random_seed = args->seed});
      if (!st.ok()) return ctx.Fail(st.status());
      double tps = st->elapsed_s > 0 ? st->state_changes / st->elapsed_s : 0;
      if (ctx.out.json()) {
        ctx.out.Json({{"state_changes", st->state_changes}, {"positions_opened", st->positions_opened},
                      {"retries", st->retries}, {"elapsed_seconds", st->elapsed_s}, {"rate", tps}});
      } else {
        ctx.out.Line(FormatCount(st->state_changes) + " state changes in " + FormatDuration(st->elapsed_s) + " (" +
                     FormatCount(static_cast<int64_t>(tps)) + "/s), " + FormatCount(st->positions_opened) +
                     " positions opened");
      }
      return 0;
    }
    auto report = workload::VerifyInvariant(*conn);
    if (!report.ok()) return ctx.Fail(report.status());
    if (ctx.out.json()) {
      ctx.out.Json(InvariantJson(*report));
    } else {
      ctx.out.Line(DescribeInvariant(*report));
    }
    return report->holds() ? 0 : 1;
  };
}

}  // namespace pgk::cli
