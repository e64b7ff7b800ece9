#include "repo/retention.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "common/utc_time.h"

namespace pgk::repo {

namespace {

std::string Bucket(int64_t t, const char* format) { return FormatUtc(t, format); }

}  // namespace

std::vector<RetentionDecision> ApplyRetention(const std::vector<RetentionItem>& backups, const RetentionPolicy& policy,
                                              int64_t now_s) {
  std::vector<size_t> order(backups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Newest first, ties by id so the result is deterministic.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (backups[a].start_s != backups[b].start_s) return backups[a].start_s > backups[b].start_s;
    return backups[a].id > backups[b].id;
  });
  std::vector<RetentionDecision> out(backups.size());
  for (size_t i = 0; i < backups.size(); ++i) out[i].id = backups[i].id;
  if (policy.Empty()) {
    for (auto& d : out) {
      d.keep = true;
      d.reasons.push_back("no retention policy configured");
    }
    return out;
  }
  auto keep = [&](size_t i, const std::string& why) {
    out[i].keep = true;
    out[i].reasons.push_back(why);
  };
  for (size_t k = 0; k < order.size() && static_cast<int>(k) < policy.keep_last; ++k) {
    keep(order[k], "one of the last " + std::to_string(policy.keep_last));
  }
  struct Level {
    int count;
    const char* format;
    const char* label;
  };
  const Level levels[] = {{policy.keep_daily, "%Y-%m-%d", "daily"},
                          {policy.keep_weekly, "%G-W%V", "weekly"},
                          {policy.keep_monthly, "%Y-%m", "monthly"},
                          {policy.keep_yearly, "%Y", "yearly"}};
  for (const auto& level : levels) {
    if (level.count <= 0) continue;
    std::set<std::string> seen;
    for (size_t i : order) {
      std::string bucket = Bucket(backups[i].start_s, level.format);
      if (seen.count(bucket)) continue;  // an older backup of an already covered period
      if (static_cast<int>(seen.size()) >= level.count) break;
      seen.insert(bucket);
      keep(i, std::string(level.label) + " " + bucket);
    }
  }
  for (size_t i = 0; i < backups.size(); ++i) {
    if (!out[i].keep && now_s - backups[i].start_s < policy.min_age_s) keep(i, "younger than min_age");
  }
  return out;
}

void KeepReferenced(std::vector<RetentionDecision>* decisions,
                    const std::map<std::string, std::set<std::string>>& references) {
  std::map<std::string, RetentionDecision*> by_id;
  for (auto& d : *decisions) by_id[d.id] = &d;
  // Until nothing changes: a backup kept for its dependents may itself refer to others.
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& d : *decisions) {
      if (!d.keep) continue;
      auto refs = references.find(d.id);
      if (refs == references.end()) continue;
      for (const auto& r : refs->second) {
        auto it = by_id.find(r);
        if (it == by_id.end() || it->second->keep) continue;
        it->second->keep = true;
        it->second->reasons.push_back("needed by " + d.id);
        changed = true;
      }
    }
  }
}

}  // namespace pgk::repo
