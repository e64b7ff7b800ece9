// `pgkeeper check`: the report operators run first. Collects facts from the server into a
// CheckReport (pure data); cli/ renders it as a table or JSON. Later capabilities add
// their own sections (migration status, schema drift, backup freshness) through
// RegisterCheckSection, without this module knowing about them.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "pg/connection.h"

namespace pgk::check {

enum class Severity { kOk, kInfo, kWarning, kError };
const char* SeverityName(Severity s);

struct Finding {
  Severity severity = Severity::kInfo;
  std::string check;    // short id, e.g. "data_checksums"
  std::string message;  // what was found
  std::string hint;     // what to do (may be empty)
};

struct TableInfo {
  std::string schema;
  std::string name;
  std::string kind;  // table, partitioned table, materialized view
  bool unlogged = false;
  int64_t row_estimate = -1;  // -1: never analyzed
  std::optional<int64_t> exact_rows;
  int64_t table_bytes = 0;
  int64_t index_bytes = 0;
  int64_t total_bytes = 0;
};

struct Setting {
  std::string name;
  std::string value;  // as SHOW would print it, with unit
};

struct CheckReport {
  std::string target;  // masked URL
  std::string source;  // where the connection settings came from
  std::string user;
  std::string database;
  std::string server_address;
  bool ssl = false;
  double connect_ms = 0;
  std::string server_version;       // "15.18"
  std::string server_version_full;  // version()
  int server_version_num = 0;
  bool in_recovery = false;
  int64_t uptime_s = 0;
  int64_t database_bytes = 0;
  std::vector<Setting> settings;
  std::vector<TableInfo> tables;
  bool exact_counts = false;
  std::vector<Finding> findings;
  // Sections added by other capabilities: name -> their JSON summary.
  nlohmann::json sections = nlohmann::json::object();

  int Count(Severity s) const;
  // Unhealthy: any error finding, or any warning when strict.
  bool Healthy(bool strict) const;
  nlohmann::json ToJson(bool strict) const;
};

struct CheckOptions {
  bool exact = false;
  bool strict = false;
  const Config* config = nullptr;
  std::string conninfo;  // how the checked connection was made (sections may open more)
};

// A section hook: inspects the database and adds findings and/or a JSON section.
using CheckSection = std::function<Status(pg::Connection&, const CheckOptions&, CheckReport&)>;
void RegisterCheckSection(std::string name, CheckSection section);

// Runs every built-in check and every registered section on an open connection.
Result<CheckReport> RunCheck(pg::Connection& conn, const CheckOptions& options);

}  // namespace pgk::check
