// `pgkeeper expire`: retention (grandfather-father-son per database and type) and removal
// of unfinished backups' debris. Prints what it keeps and why.
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "cli/wal_maintenance.h"
#include "repo/repository.h"
#include "repo/retention.h"

namespace pgk::cli {

Result<std::unique_ptr<repo::Repository>> OpenRepository(const Context& ctx, const std::string& repo_flag,
                                                         const std::string& key_file_flag, bool create);  // cmd_backup.cc

namespace {


struct ExpireArgs {
  std::string repo;
  std::string key_file;
  bool dry_run = false;
  // Debris younger than this may belong to a backup that is still running.
  int64_t unfinished_grace_s = 3600;
  int keep_last = -1, keep_daily = -1, keep_weekly = -1, keep_monthly = -1, keep_yearly = -1, min_age_days = -1;
};

int Pick(int flag, const Config& c, const char* key) {
  return flag >= 0 ? flag : static_cast<int>(c.GetInt(key).value_or(0));
}

}  // namespace

void SetupExpire(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<ExpireArgs>();
  cmd->add_option("--repo", a->repo, "Repository (default repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file");
  cmd->add_flag("--dry-run", a->dry_run, "Print what would be removed and why; remove nothing");
  cmd->add_option("--keep-last", a->keep_last, "Keep the newest N (default retention.keep_last)");
  cmd->add_option("--keep-daily", a->keep_daily, "Keep the newest of each of the last N days");
  cmd->add_option("--keep-weekly", a->keep_weekly, "... of the last N ISO weeks");
  cmd->add_option("--keep-monthly", a->keep_monthly, "... of the last N months");
  cmd->add_option("--keep-yearly", a->keep_yearly, "... of the last N years");
  cmd->add_option("--min-age-days", a->min_age_days, "Never remove backups younger than this");
  cmd->add_option("--unfinished-grace", a->unfinished_grace_s,
                  "Seconds an unfinished backup's newest file must be old before it is removed (default 3600)")
      ->check(CLI::NonNegativeNumber);
  cmd->footer("Without any keep_* setting nothing is removed except unfinished backups (older than --unfinished-grace).");
  *handler = [a](Context& ctx) -> int {
    auto repository = OpenRepository(ctx, a->repo, a->key_file, false);
    if (!repository.ok()) return ctx.Fail(repository.status());
    repo::RetentionPolicy policy{.keep_last = Pick(a->keep_last, ctx.config, "retention.keep_last"),
                                 .keep_daily = Pick(a->keep_daily, ctx.config, "retention.keep_daily"),
                                 .keep_weekly = Pick(a->keep_weekly, ctx.config, "retention.keep_weekly"),
                                 .keep_monthly = Pick(a->keep_monthly, ctx.config, "retention.keep_monthly"),
                                 .keep_yearly = Pick(a->keep_yearly, ctx.config, "retention.keep_yearly"),
                                 .min_age_s = 86400LL * Pick(a->min_age_days, ctx.config, "retention.min_age_days")};
    std::vector<std::string> problems;
    auto backups = (*repository)->ListBackups(&problems);
    if (!backups.ok()) return ctx.Fail(backups.status());
    int64_t now = std::time(nullptr);
    // Each database and backup type has its own generations.
    std::map<std::string, std::vector<repo::RetentionItem>> groups;
    for (const auto& m : *backups) {
      auto t = repo::ParseIso8601(m.start_time);
      groups[m.database + "/" + m.type].push_back({m.id, t.ok() ? *t : 0});
    }
    nlohmann::json decisions = nlohmann::json::array();
    int removed = 0, kept = 0;
    std::set<std::string> removed_ids;
    // Physical diff/incr backups refer to files stored in earlier backups.
    std::map<std::string, std::set<std::string>> references;
    for (const auto& m : *backups)
      for (const auto& f : m.files)
        if (!f.reference.empty()) references[m.id].insert(f.reference);
    for (const auto& [group, items] : groups) {
      auto group_decisions = repo::ApplyRetention(items, policy, now);
      repo::KeepReferenced(&group_decisions, references);
      for (const auto& d : group_decisions) {
        std::string reasons;
        for (const auto& r : d.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
        decisions.push_back({{"id", d.id}, {"group", group}, {"keep", d.keep}, {"reasons", d.reasons}});
        ctx.out.Line(std::string(d.keep ? ctx.out.Green("keep   ") : ctx.out.Red("remove ")) + d.id + "  " + group +
                     (reasons.empty() ? "" : ctx.out.Dim("  (" + reasons + ")")));
        if (d.keep) {
          ++kept;
          continue;
        }
        ++removed;
        removed_ids.insert(d.id);
        if (!a->dry_run) {
          Status s = (*repository)->RemoveBackup(d.id);
          if (!s.ok()) return ctx.Fail(s);
        }
      }
    }
    // Unfinished backups: no manifest. Recent debris may be a backup still running.
    nlohmann::json debris = nlohmann::json::array();
    auto unfinished = (*repository)->ListUnfinished();
    if (!unfinished.ok()) return ctx.Fail(unfinished.status());
    for (const auto& id : *unfinished) {
      auto files = (*repository)->storage().List(repo::BackupDir(id));
      int64_t newest = 0;
      if (files.ok())
        for (const auto& f : *files) newest = std::max(newest, f.mtime_s);
      bool old_enough = now - newest >= a->unfinished_grace_s;
      debris.push_back({{"id", id}, {"removed", old_enough && !a->dry_run}, {"recent", !old_enough}});
      ctx.out.Line((old_enough ? ctx.out.Red("remove ") : ctx.out.Yellow("leave  ")) + id +
                   ctx.out.Dim(old_enough ? "  (unfinished backup)" : "  (unfinished, written in the last hour: may still be running)"));
      if (old_enough && !a->dry_run) {
        Status s = (*repository)->storage().RemovePrefix(repo::BackupDir(id));
        if (!s.ok()) return ctx.Fail(s);
      }
    }
    for (const auto& p : problems) ctx.out.Line(ctx.out.Yellow("damaged: ") + p);
    std::vector<repo::Manifest> retained;
    for (const auto& m : *backups)
      if (!removed_ids.count(m.id)) retained.push_back(m);
    nlohmann::json wal;
    Status wal_status = ExpireWal(ctx, **repository, retained, problems, a->dry_run, &wal);
    if (!wal_status.ok()) return ctx.Fail(wal_status);
    std::string summary = std::string(a->dry_run ? "dry run: would remove " : "removed ") + std::to_string(removed) +
                          " backup(s), kept " + std::to_string(kept) + (policy.Empty() ? " (no retention policy set)" : "");
    ctx.out.Line(summary);
    if (ctx.out.json()) {
      ctx.out.Json({{"dry_run", a->dry_run}, {"backups", decisions}, {"unfinished", debris}, {"removed", removed},
                    {"kept", kept}, {"damaged", problems}, {"wal", wal}});
    }
    return 0;
  };
}

}  // namespace pgk::cli
