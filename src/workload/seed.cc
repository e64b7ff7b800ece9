#include "workload/seed.h"

#include <array>
#include <ctime>
#include <functional>

#include "common/utc_time.h"
#include "workload/model.h"

namespace pgk::workload {

namespace {

const std::array<const char*, 16> kNames = {
    "Northwind Custody",   "Helvetia Trust Bank",   "Baltic Digital Assets", "Meridian Capital",
    "Aurora Private Bank", "Kestrel Securities",    "Lumen Asset Services",  "Harbor & Vale",
    "Orchid Fiduciary",    "Tessera Markets",       "Granite Peak Trust",    "Solstice Ventures",
    "Cobalt Clearing",     "Fjord Wealth Partners", "Sable Ledger Co",       "Atlas Escrow Services"};
const std::array<const char*, 6> kRegions = {"EU", "US", "UK", "CH", "SG", "APAC"};
const std::array<const char*, 6> kVerticals = {"real_estate",    "private_credit", "art",
                                               "carbon_credits", "treasury",       "commodities"};
const std::array<const char*, 4> kCurrencies = {"EUR", "USD", "GBP", "CHF"};
const std::array<const char*, 4> kRoles = {"admin", "issuer", "reader", "operator"};

// COPY text format escaping for one field.
std::string Esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Ts(time_t t) { return FormatUtc(t, "%Y-%m-%d %H:%M:%S+00"); }

std::string Row(std::initializer_list<std::string> fields) {
  std::string out;
  bool first = true;
  for (const auto& f : fields) {
    if (!first) out += '\t';
    out += f;
    first = false;
  }
  return out + "\n";
}

// Streams `rows` (already COPY-formatted lines) into `table` in chunks.
Status CopyRows(pg::Connection& conn, const std::string& copy_sql, const std::vector<std::string>& rows) {
  size_t next = 0;
  return conn
      .CopyIn(copy_sql,
              [&](std::string& buf) -> Result<bool> {
                while (next < rows.size() && buf.size() < (1 << 16)) buf += rows[next++];
                return next < rows.size();
              })
      .status();
}

}  // namespace

Result<SeedStats> Seed(pg::Connection& conn, const SeedOptions& o) {
  std::mt19937_64 rng(o.random_seed);
  auto pick = [&](const auto& arr) { return std::string(arr[rng() % arr.size()]); };
  SeedStats st;
  time_t now = std::time(nullptr);
  time_t epoch = now - 365 * 24 * 3600;  // history spans the last year

  std::vector<std::string> inst_rows, tmpl_rows, asset_rows, pos_rows, pev_rows, lev_rows, key_rows, audit_rows,
      policy_rows;
  struct Asset {
    std::string id, institution;
  };
  std::vector<std::string> inst_ids;
  std::vector<Asset> assets;
  std::vector<std::vector<std::string>> keys_by_inst;

  for (int i = 0; i < o.institutions; ++i) {
    std::string id = NewId("inst", rng);
    inst_ids.push_back(id);
    std::string name = kNames[i % kNames.size()];
    if (i >= static_cast<int>(kNames.size())) name += " " + std::to_string(i / kNames.size() + 1);
    std::string r1 = pick(kRegions), r2 = pick(kRegions), v1 = pick(kVerticals), v2 = pick(kVerticals);
    if (r2 == r1)
      r2 = kRegions[(std::find(kRegions.begin(), kRegions.end(), r1) - kRegions.begin() + 1) % kRegions.size()];
    if (v2 == v1)
      v2 = kVerticals[(std::find(kVerticals.begin(), kVerticals.end(), v1) - kVerticals.begin() + 1) %
                      kVerticals.size()];
    time_t created = epoch + static_cast<time_t>(rng() % (30 * 24 * 3600));
    inst_rows.push_back(
        Row({id, Esc(name), "{" + r1 + "," + r2 + "}", "{" + v1 + "," + v2 + "}", Ts(created), Ts(created)}));
    for (const auto& region : {r1, r2}) {
      policy_rows.push_back(Row({NewId("pol", rng), id, region,
                                 Esc(R"({"max_position": )" + std::to_string(100000 * (1 + rng() % 50)) +
                                     R"(, "kyc_level": )" + std::to_string(1 + rng() % 3) + "}"),
                                 Ts(created), Ts(created)}));
    }
    std::vector<std::string> tmpl_ids;
    for (int t = 0; t < 3; ++t) {
      std::string tid = NewId("tmpl", rng);
      tmpl_ids.push_back(tid);
      std::string vertical = t == 0 ? v1 : v2;
      tmpl_rows.push_back(
          Row({tid, id, vertical.substr(0, 3) + "-" + std::to_string(100 + t),
               Esc(vertical + " note series " + std::to_string(t + 1)), vertical, t == 0 ? r1 : r2,
               Esc(R"({"decimals": 4, "transferable": )" + std::string(rng() % 2 ? "true" : "false") + "}"),
               Ts(created), Ts(created)}));
    }
    for (int a = 0; a < 20; ++a) {
      std::string aid = NewId("asset", rng);
      assets.push_back({aid, id});
      time_t at = created + static_cast<time_t>(rng() % (60 * 24 * 3600));
      asset_rows.push_back(
          Row({aid, id, tmpl_ids[rng() % tmpl_ids.size()], "Lot " + std::to_string(1000 + a),
               Esc(R"({"isin": "XS)" + std::to_string(1000000000 + rng() % 999999999) + R"("})"), Ts(at), Ts(at)}));
    }
    keys_by_inst.emplace_back();
    for (int k = 0; k < 3; ++k) {
      std::string kid = NewId("key", rng);
      keys_by_inst.back().push_back(kid);
      std::string hash = NewId("h", rng) + NewId("h", rng) + NewId("h", rng);
      key_rows.push_back(Row({kid, id, hash, "key " + std::to_string(k + 1), pick(kRoles), Ts(created),
                              k == 2 ? Ts(created + 90 * 24 * 3600) : "\\N", "\\N"}));
    }
  }

  for (int p = 0; p < o.positions; ++p) {
    const Asset& asset = assets[rng() % assets.size()];
    std::string pid = NewId("pos", rng);
    time_t created = epoch + 60 * 24 * 3600 + static_cast<time_t>(rng() % (300 * 24 * 3600));
    std::string state = kInitialState;
    int changes = static_cast<int>(rng() % 5);
    time_t at = created;
    int version = 0;
    for (int c = 0; c < changes && !IsTerminal(state); ++c) {
      const auto& next = NextStates(state);
      std::string to = next[rng() % next.size()];
      at += static_cast<time_t>(60 + rng() % (3 * 24 * 3600));
      ++version;
      std::string pev = NewId("pev", rng);
      pev_rows.push_back(Row({pev, pid, state, to, "seed", Ts(at), R"({"seq": )" + std::to_string(version) + "}"}));
      lev_rows.push_back(Row({NewId("lev", rng), "position.state_changed", pid, Ts(at), state, to,
                              R"({"position_event_id": ")" + pev + R"(", "seq": )" + std::to_string(version) + "}"}));
      state = to;
    }
    std::string amount = std::to_string(1000 + rng() % 5000000) + "." + std::to_string(rng() % 10000);
    pos_rows.push_back(Row(
        {pid, asset.institution, asset.id, "holder-" + std::to_string(rng() % 100000), pick(kCurrencies), amount, state,
         rng() % 3 ? "ext-" + std::to_string(rng() % 10000000) : "\\N", Ts(created), Ts(at), std::to_string(version)}));
    if (p % 2 == 0) {
      size_t inst_idx = std::find(inst_ids.begin(), inst_ids.end(), asset.institution) - inst_ids.begin();
      const auto& keys = keys_by_inst[inst_idx];
      audit_rows.push_back(Row({NewId("aud", rng), Ts(created), keys[rng() % keys.size()], asset.institution, "POST",
                                "/v1/positions", "position.create", "position", pid,
                                Esc(R"({"status": 201, "ip": "10.)" + std::to_string(rng() % 255) + ".0.1\"}")}));
    }
  }

  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
  PGK_RETURN_IF_ERROR(
      CopyRows(conn, "COPY institutions (id, name, regions, verticals, created_at, updated_at) FROM STDIN", inst_rows));
  PGK_RETURN_IF_ERROR(CopyRows(
      conn, "COPY institution_policies (id, institution_id, region, config, created_at, updated_at) FROM STDIN",
      policy_rows));
  PGK_RETURN_IF_ERROR(CopyRows(conn,
                               "COPY asset_templates (id, institution_id, code, name, vertical, region, config, "
                               "created_at, updated_at) FROM STDIN",
                               tmpl_rows));
  PGK_RETURN_IF_ERROR(CopyRows(
      conn, "COPY assets (id, institution_id, template_id, label, metadata, created_at, updated_at) FROM STDIN",
      asset_rows));
  PGK_RETURN_IF_ERROR(CopyRows(
      conn,
      "COPY api_keys (id, institution_id, key_hash, label, role, created_at, revoked_at, last_used_at) FROM STDIN",
      key_rows));
  PGK_RETURN_IF_ERROR(CopyRows(conn,
                               "COPY positions (id, institution_id, asset_id, holder_reference, currency, amount, "
                               "state, external_reference, created_at, updated_at, state_version) FROM STDIN",
                               pos_rows));
  PGK_RETURN_IF_ERROR(CopyRows(
      conn, "COPY position_events (id, position_id, from_state, to_state, reason, at, metadata) FROM STDIN", pev_rows));
  PGK_RETURN_IF_ERROR(CopyRows(
      conn, "COPY ledger_events (id, kind, position_id, at, previous_state, new_state, payload) FROM STDIN", lev_rows));
  PGK_RETURN_IF_ERROR(CopyRows(conn,
                               "COPY audit_events (id, occurred_at, api_key_id, institution_id, method, path, action, "
                               "resource_type, resource_id, payload) FROM STDIN",
                               audit_rows));
  PGK_RETURN_IF_ERROR(tx.Commit());
  PGK_RETURN_IF_ERROR(conn.Exec("ANALYZE"));

  st.institutions = static_cast<int64_t>(inst_rows.size());
  st.templates = static_cast<int64_t>(tmpl_rows.size());
  st.assets = static_cast<int64_t>(asset_rows.size());
  st.positions = static_cast<int64_t>(pos_rows.size());
  st.events = static_cast<int64_t>(pev_rows.size());
  st.api_keys = static_cast<int64_t>(key_rows.size());
  st.audit_events = static_cast<int64_t>(audit_rows.size());
  st.policies = static_cast<int64_t>(policy_rows.size());
  return st;
}

}  // namespace pgk::workload
