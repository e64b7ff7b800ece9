// Parallel index builds for restore's post-data phase. pg_dump's post-data section is one
// plain script; run as-is it builds every index and primary key one after the other on one
// connection, which is most of a restore's time on databases with many indexes. pg_restore
// -j builds them in parallel using its archive's dependency graph; a plain script has none,
// so this plan takes only what is safe to reorder: index builds and PRIMARY KEY / UNIQUE /
// EXCLUDE constraints, grouped by table (statements on one table stay on one connection,
// in order, so they never wait on each other's locks). Everything else — foreign keys,
// triggers, rules, policies, index attachments, comments — runs after them, in the script's
// order, on one connection. Pure functions; the caller executes the plan.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgk::restore {

struct TableBuilds {
  std::pair<std::string, std::string> table;  // unquoted schema and name
  // Each statement is preceded by the session settings (SET, set_config) that were in
  // force at its place in the script, so it means the same on any connection.
  std::vector<std::string> statements;
};

struct PostDataPlan {
  std::vector<TableBuilds> builds;  // in the script's order of first appearance
  std::string rest;                 // the other statements, in order, as one script
};

PostDataPlan PlanPostData(std::string_view sql);

}  // namespace pgk::restore
