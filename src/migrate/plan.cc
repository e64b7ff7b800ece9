#include "migrate/plan.h"

#include <algorithm>
#include <map>

namespace pgk::migrate {

const char* StateName(State s) {
  switch (s) {
    case State::kApplied:
      return "applied";
    case State::kPending:
      return "pending";
    case State::kMissing:
      return "missing";
    case State::kChanged:
      return "changed";
    case State::kFailed:
      return "failed";
  }
  return "?";
}

int StatusReport::Count(State s) const {
  return static_cast<int>(std::count_if(entries.begin(), entries.end(), [s](const Entry& e) { return e.state == s; }));
}

const Entry* StatusReport::Find(uint64_t version) const {
  for (const auto& e : entries)
    if (e.version == version) return &e;
  return nullptr;
}

static bool ChecksumMatches(const std::string& recorded, const MigrationFile& f) {
  if (recorded.empty()) return true;
  if (recorded.rfind("flyway-crc32:", 0) == 0) return recorded == "flyway-crc32:" + std::to_string(f.flyway_checksum);
  return recorded == f.checksum;
}

StatusReport BuildStatus(const MigrationSet& files, const std::vector<AppliedMigration>& history) {
  std::map<uint64_t, Entry> entries;
  for (const auto& f : files.files) {
    entries[f.version] = Entry{.version = f.version, .name = f.DisplayName(), .state = State::kPending, .file = &f};
  }
  StatusReport r;
  for (const auto& h : history) {
    Entry& e = entries[h.version];
    e.version = h.version;
    e.applied = h;
    if (e.name.empty()) e.name = std::to_string(h.version) + "_" + h.name;
    if (!h.success) {
      e.state = State::kFailed;
      r.failed = h.version;
    } else if (!e.file) {
      e.state = State::kMissing;
    } else if (!ChecksumMatches(h.checksum, *e.file)) {
      e.state = State::kChanged;
    } else {
      e.state = State::kApplied;
    }
    if (h.success) r.current = std::max(r.current.value_or(0), h.version);
  }
  for (auto& [v, e] : entries) r.entries.push_back(std::move(e));
  return r;
}

Status CheckNotDirty(const StatusReport& status, const TableName& table) {
  if (!status.failed) return Status::Ok();
  const Entry* e = status.Find(*status.failed);
  std::string v = std::to_string(*status.failed);
  // The version before the failed one, to name the "undone by hand" option exactly.
  std::string prev = "0";
  for (const auto& other : status.entries) {
    if (other.version < *status.failed && other.applied && other.applied->success) prev = std::to_string(other.version);
  }
  std::string msg = "migration " + (e ? e->name : v) + " failed" +
                    (e && e->applied && !e->applied->error.empty() ? " (" + e->applied->error + ")" : "") +
                    " and left the database in an unknown state; " + table.Display() + " is dirty";
  return Status::Refused(msg, "repair the database by hand, then run `pgkeeper migrate force " + v +
                                  "` if the migration's changes are now complete, or `pgkeeper migrate force " + prev +
                                  "` if you undid them");
}

Result<std::vector<Step>> PlanUp(const StatusReport& status, int n, const PlanOptions& options) {
  if (!options.allow_changed) {
    std::string changed;
    for (const auto& e : status.entries)
      if (e.state == State::kChanged) changed += "\n  " + e.file->up_file_name();
    if (!changed.empty()) {
      return Status::Refused("applied migrations changed on disk since they were applied:" + changed,
                             "restore the original files (git checkout), or pass --allow-changed if the change is "
                             "cosmetic");
    }
  }
  std::vector<Step> steps;
  std::string out_of_order;
  for (const auto& e : status.entries) {
    if (e.state != State::kPending) continue;
    if (status.current && e.version < *status.current) out_of_order += "\n  " + e.file->up_file_name();
    steps.push_back({e.file, true});
  }
  if (!out_of_order.empty() && !options.allow_out_of_order) {
    return Status::Refused("pending migrations are older than the newest applied one (" +
                               std::to_string(*status.current) + "):" + out_of_order,
                           "renumber them after " + std::to_string(*status.current) +
                               ", or pass --allow-out-of-order if they are independent");
  }
  if (n > 0 && static_cast<int>(steps.size()) > n) steps.resize(static_cast<size_t>(n));
  return steps;
}

Result<std::vector<Step>> PlanDown(const StatusReport& status, int n, bool all) {
  std::vector<const Entry*> applied;
  for (const auto& e : status.entries)
    if (e.applied && e.applied->success) applied.push_back(&e);
  std::reverse(applied.begin(), applied.end());
  size_t count = all ? applied.size() : static_cast<size_t>(n);
  if (count > applied.size()) {
    return Status::Refused("cannot roll back " + std::to_string(count) + " migrations: only " +
                               std::to_string(applied.size()) + " are applied",
                           "use `pgkeeper migrate down --all` to roll back all of them");
  }
  std::vector<Step> steps;
  for (size_t i = 0; i < count; ++i) {
    const Entry* e = applied[i];
    if (!e->file) {
      return Status::Refused("cannot roll back " + e->name + ": its file is missing from disk",
                             "restore the migration files, or repair by hand and use `pgkeeper migrate force`");
    }
    if (!e->file->has_down()) {
      return Status::Refused("cannot roll back " + e->file->up_file_name() + ": it has no down migration (" +
                                 LayoutName(e->file->layout) + " layout)",
                             "write the reverse change as a new migration and apply it with `pgkeeper migrate up`");
    }
    steps.push_back({e->file, false});
  }
  return steps;
}

Result<std::vector<Step>> PlanGoto(const StatusReport& status, uint64_t version, const PlanOptions& options) {
  if (version != 0) {
    const Entry* target = status.Find(version);
    if (!target || !target->file) {
      return Status::NotFound("no migration file with version " + std::to_string(version),
                              "run `pgkeeper migrate status` to see the versions");
    }
  }
  uint64_t current = status.current.value_or(0);
  if (version >= current) {
    PGK_ASSIGN_OR_RETURN(auto up, PlanUp(status, 0, options));
    std::vector<Step> steps;
    for (const auto& s : up)
      if (s.file->version <= version) steps.push_back(s);
    return steps;
  }
  int n = 0;
  for (const auto& e : status.entries)
    if (e.applied && e.applied->success && e.version > version) ++n;
  return PlanDown(status, n, false);
}

}  // namespace pgk::migrate
