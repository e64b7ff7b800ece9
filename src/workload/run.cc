#include "workload/run.h"

#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/interrupt.h"
#include "pg/connection.h"
#include "workload/model.h"

namespace pgk::workload {

namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  std::mutex mu;
  std::vector<std::string> institutions_assets;  // "institution\tasset"
  Status error;
};

// Opens a new pending position (one transaction, no events: creation is not a state change).
Status OpenPosition(pg::Connection& conn, Shared& shared, std::mt19937_64& rng, std::string* id) {
  std::string pair;
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    pair = shared.institutions_assets[rng() % shared.institutions_assets.size()];
  }
  auto tab = pair.find('\t');
  *id = NewId("pos", rng);
  static const char* kCurrencies[] = {"EUR", "USD", "GBP", "CHF"};
  auto r = conn.Query(
      "INSERT INTO positions (id, institution_id, asset_id, holder_reference, currency, amount, state) "
      "VALUES ($1, $2, $3, $4, $5, $6::numeric, 'pending')",
      {*id, pair.substr(0, tab), pair.substr(tab + 1), "holder-" + std::to_string(rng() % 100000),
       std::string(kCurrencies[rng() % 4]), std::to_string(1000 + rng() % 1000000) + ".00"});
  return r.ok() ? Status::Ok() : r.status();
}

// One state change: exactly the application's transaction.
// Returns false (no error) when another client moved the position first.
Result<bool> ChangeState(pg::Connection& conn, const std::string& id, std::mt19937_64& rng, std::string* new_state) {
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
  PGK_ASSIGN_OR_RETURN(auto cur, conn.Query("SELECT state FROM positions WHERE id = $1 FOR UPDATE", {id}));
  if (cur.rows() == 0) return false;
  std::string from = cur.GetString(0, 0);
  const auto& next = NextStates(from);
  if (next.empty()) {
    *new_state = from;
    return false;
  }
  std::string to = next[rng() % next.size()];
  PGK_ASSIGN_OR_RETURN(auto upd, conn.Query("UPDATE positions SET state = $2, state_version = state_version + 1, "
                                            "updated_at = clock_timestamp() WHERE id = $1 RETURNING state_version",
                                            {id, to}));
  std::string seq = upd.GetString(0, 0);
  std::string pev = NewId("pev", rng);
  PGK_ASSIGN_OR_RETURN(auto e1, conn.Query("INSERT INTO position_events (id, position_id, from_state, to_state, reason, at, "
                                           "metadata) VALUES ($1, $2, $3, $4, 'workload', clock_timestamp(), "
                                           "jsonb_build_object('seq', $5::int))",
                                           {pev, id, from, to, seq}));
  PGK_ASSIGN_OR_RETURN(auto e2, conn.Query("INSERT INTO ledger_events (id, kind, position_id, at, previous_state, new_state, "
                                           "payload) VALUES ($1, 'position.state_changed', $2, clock_timestamp(), $3, $4, "
                                           "jsonb_build_object('position_event_id', $5::text, 'seq', $6::int))",
                                           {NewId("lev", rng), id, from, to, pev, seq}));
  (void)e1;
  (void)e2;
  PGK_RETURN_IF_ERROR(tx.Commit());
  *new_state = to;
  return true;
}

}  // namespace

Result<RunStats> Run(const RunOptions& o) {
  Shared shared;
  std::vector<std::vector<std::string>> open_by_client(o.clients);
  {
    PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(o.conninfo, {.application_name = "pgkeeper-workload"}));
    PGK_ASSIGN_OR_RETURN(auto pairs, conn.Query("SELECT institution_id, id FROM assets"));
    for (int i = 0; i < pairs.rows(); ++i) shared.institutions_assets.push_back(pairs.GetString(i, 0) + "\t" + pairs.GetString(i, 1));
    if (shared.institutions_assets.empty()) {
      return Status::Refused("the database has no assets to open positions on",
                             "seed it first: pgkeeper workload seed");
    }
    // Partition open positions among clients so that clients rarely contend.
    PGK_ASSIGN_OR_RETURN(auto open, conn.Query("SELECT id FROM positions WHERE state NOT IN ('released', 'refunded', "
                                               "'cancelled')"));
    for (int i = 0; i < open.rows(); ++i) open_by_client[i % o.clients].push_back(open.GetString(i, 0));
  }

  std::atomic<int64_t> changes{0}, opened{0}, retries{0};
  uint64_t seed = o.random_seed ? o.random_seed : static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  double per_client_rate = o.rate > 0 ? o.rate / o.clients : 0;

  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(c) * 7919);
      auto conn = pg::Connection::Connect(o.conninfo, {.application_name = "pgkeeper-workload"});
      auto fail = [&](const Status& s) {
        std::lock_guard<std::mutex> lock(shared.mu);
        if (shared.error.ok()) shared.error = s;
      };
      if (!conn.ok()) return fail(conn.status());
      auto& open = open_by_client[c];
      int64_t done = 0;
      for (;;) {
        if (Interrupted() || (o.stop && o.stop->load())) break;
        if (o.duration_s > 0 && Clock::now() >= deadline) break;
        {
          std::lock_guard<std::mutex> lock(shared.mu);
          if (!shared.error.ok()) break;
        }
        if (per_client_rate > 0) {
          auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(done / per_client_rate));
          if (due > Clock::now()) std::this_thread::sleep_until(std::min(due, deadline));
          if (o.duration_s > 0 && Clock::now() >= deadline) break;
        }
        if (open.size() < 50) {
          std::string id;
          Status s = OpenPosition(*conn, shared, rng, &id);
          if (!s.ok()) return fail(s);
          open.push_back(id);
          ++opened;
        }
        size_t idx = rng() % open.size();
        std::string new_state;
        auto changed = ChangeState(*conn, open[idx], rng, &new_state);
        if (!changed.ok()) {
          // Deadlocks and serialization failures are part of life under concurrency.
          const auto& code = conn->last_error().sqlstate;
          if (code == "40001" || code == "40P01") {
            ++retries;
            continue;
          }
          return fail(changed.status());
        }
        if (*changed) {
          ++changes;
          ++done;
        } else {
          ++retries;
        }
        if (IsTerminal(new_state) || !*changed) {
          open[idx] = open.back();
          open.pop_back();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (!shared.error.ok()) return shared.error.WithContext("workload");
  RunStats st;
  st.state_changes = changes;
  st.positions_opened = opened;
  st.retries = retries;
  st.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  return st;
}

}  // namespace pgk::workload
