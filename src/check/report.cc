#include "check/report.h"

#include <map>

namespace pgk::check {

namespace {

std::vector<std::pair<std::string, CheckSection>>& Sections() {
  static std::vector<std::pair<std::string, CheckSection>> sections;
  return sections;
}

}  // namespace

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kOk:
      return "ok";
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "?";
}

void RegisterCheckSection(std::string name, CheckSection section) {
  Sections().emplace_back(std::move(name), std::move(section));
}

int CheckReport::Count(Severity s) const {
  int n = 0;
  for (const auto& f : findings) n += f.severity == s;
  return n;
}

bool CheckReport::Healthy(bool strict) const {
  return Count(Severity::kError) == 0 && (!strict || Count(Severity::kWarning) == 0);
}

nlohmann::json CheckReport::ToJson(bool strict) const {
  using nlohmann::json;
  json settings_j = json::object();
  for (const auto& s : settings) settings_j[s.name] = s.value;
  json tables_j = json::array();
  for (const auto& t : tables) {
    json tj = {{"schema", t.schema},          {"name", t.name},
               {"kind", t.kind},              {"unlogged", t.unlogged},
               {"row_estimate", t.row_estimate < 0 ? json(nullptr) : json(t.row_estimate)},
               {"table_bytes", t.table_bytes}, {"index_bytes", t.index_bytes},
               {"total_bytes", t.total_bytes}};
    if (exact_counts) tj["exact_rows"] = t.exact_rows ? json(*t.exact_rows) : json(nullptr);
    tables_j.push_back(tj);
  }
  json findings_j = json::array();
  for (const auto& f : findings) {
    json fj = {{"severity", SeverityName(f.severity)}, {"check", f.check}, {"message", f.message}};
    if (!f.hint.empty()) fj["hint"] = f.hint;
    findings_j.push_back(fj);
  }
  return json{{"healthy", Healthy(strict)},
              {"connection",
               {{"target", target},
                {"source", source},
                {"user", user},
                {"database", database},
                {"server_address", server_address},
                {"ssl", ssl},
                {"connect_ms", connect_ms}}},
              {"server",
               {{"version", server_version},
                {"version_num", server_version_num},
                {"version_full", server_version_full},
                {"in_recovery", in_recovery},
                {"uptime_seconds", uptime_s}}},
              {"settings", settings_j},
              {"database", {{"name", database}, {"size_bytes", database_bytes}, {"table_count", tables.size()}}},
              {"tables", tables_j},
              {"exact_counts", exact_counts},
              {"findings", findings_j},
              {"summary",
               {{"errors", Count(Severity::kError)},
                {"warnings", Count(Severity::kWarning)},
                {"info", Count(Severity::kInfo)}}},
              {"sections", sections}};
}

Status CollectServer(pg::Connection& conn, CheckReport& r);
Status CollectSettings(pg::Connection& conn, CheckReport& r);
Status CollectTables(pg::Connection& conn, const CheckOptions& options, CheckReport& r);

Result<CheckReport> RunCheck(pg::Connection& conn, const CheckOptions& options) {
  CheckReport r;
  r.target = conn.display();
  r.user = conn.user();
  r.database = conn.database();
  r.server_address = conn.host() + ":" + conn.port();
  r.ssl = conn.ssl_in_use();
  r.exact_counts = options.exact;
  r.findings.push_back({Severity::kOk, "connection", "connected as " + r.user + " to database " + r.database, ""});
  PGK_RETURN_IF_ERROR(CollectServer(conn, r));
  PGK_RETURN_IF_ERROR(CollectSettings(conn, r));
  PGK_RETURN_IF_ERROR(CollectTables(conn, options, r));
  for (const auto& [name, section] : Sections()) {
    Status s = section(conn, options, r);
    if (!s.ok()) {
      r.findings.push_back({Severity::kError, name, "could not check " + name + ": " + s.message(), s.hint()});
    }
  }
  return r;
}

}  // namespace pgk::check
