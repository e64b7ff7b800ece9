// Retention: which backups `expire` keeps, and why. Grandfather-father-son by backup start
// time: keep_last newest; then the newest backup of each of the last keep_daily days,
// keep_weekly ISO weeks, keep_monthly months and keep_yearly years (UTC). Nothing younger
// than min_age is removed. Pure logic, no I/O: the caller lists and deletes.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace pgk::repo {

struct RetentionPolicy {
  int keep_last = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
  int64_t min_age_s = 0;
  bool Empty() const { return keep_last + keep_daily + keep_weekly + keep_monthly + keep_yearly == 0; }
};

struct RetentionItem {
  std::string id;
  int64_t start_s = 0;
};

struct RetentionDecision {
  std::string id;
  bool keep = false;
  std::vector<std::string> reasons;  // e.g. "last 3", "daily 2026-11-21", "younger than min_age"
};

// Decisions in the order given (newest first is conventional). An empty policy keeps
// everything (expire without a policy must never delete).
std::vector<RetentionDecision> ApplyRetention(const std::vector<RetentionItem>& backups, const RetentionPolicy& policy,
                                              int64_t now_s);

// Physical diff/incr backups store only changed files and refer to the backups holding
// the others: a backup another kept backup refers to is kept too ("needed by <id>"), so
// that expire never breaks a restorable backup. `references`: id -> ids it refers to.
void KeepReferenced(std::vector<RetentionDecision>* decisions,
                    const std::map<std::string, std::set<std::string>>& references);

}  // namespace pgk::repo
