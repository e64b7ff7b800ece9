// `pgkeeper verify [ID|latest|--all]`: reads every stored file of a backup back through
// the verifying pipeline (both digests, sizes, authentication) and names each bad file.
#include <memory>

#include "cli/commands.h"
#include "restore/open.h"
#include "restore/verify.h"

namespace pgk::cli {

namespace {

struct VerifyArgs {
  std::string id = "latest";
  std::string repo;
  std::string key_file;
  bool all = false;
  int jobs = 0;
};

int Run(Context& ctx, const VerifyArgs& a) {
  auto repo = restore::OpenRepositoryForReading(a.repo, a.key_file, ctx.config);
  if (!repo.ok()) return ctx.Fail(repo.status());
  std::vector<repo::Manifest> manifests;
  std::vector<std::string> problems;
  if (a.all) {
    auto list = (*repo)->ListBackups(&problems);
    if (!list.ok()) return ctx.Fail(list.status());
    manifests = std::move(list).value();
  } else {
    auto m = (*repo)->LoadBackup(a.id);
    if (!m.ok()) return ctx.Fail(m.status());
    manifests.push_back(std::move(m).value());
  }
  int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(ctx.config.GetInt("backup.jobs").value_or(2));
  const Output& out = ctx.out;
  size_t total = 0, failed = 0;
  nlohmann::json backups = nlohmann::json::array();
  for (const auto& m : manifests) {
    nlohmann::json bad = nlohmann::json::array();
    auto key = (*repo)->DataKey(m);
    std::vector<restore::FileVerdict> verdicts;
    if (!key.ok()) {
      // The backup's key does not open: every file is unreadable for the same reason.
      for (const auto& f : m.files) verdicts.push_back({&f, key.status()});
    } else {
      verdicts = restore::VerifyFiles(**repo, m, *key ? &**key : nullptr, {}, jobs);
    }
    for (const auto& v : verdicts) {
      ++total;
      if (v.status.ok()) continue;
      ++failed;
      bad.push_back({{"file", v.file->name}, {"error", v.status.message()}});
      out.Line(out.Red("bad: ") + m.id + "/" + v.file->name + ": " + v.status.message());
    }
    size_t n_bad = bad.size();
    backups.push_back({{"id", m.id}, {"files", m.files.size()}, {"failed", bad}});
    std::string verdict = n_bad == 0 ? out.Green("ok") : out.Red(std::to_string(n_bad) + " bad");
    out.Line(m.id + ": " + std::to_string(m.files.size()) + " files, " +
             FormatBytes(static_cast<int64_t>(m.stored_bytes())) + " stored: " + verdict);
  }
  for (const auto& p : problems) out.Line(out.Red("damaged: ") + p);
  bool good = failed == 0 && problems.empty();
  if (out.json()) {
    out.Json({{"backups", backups}, {"files", total}, {"failed", failed}, {"damaged", problems}, {"ok", good}});
  }
  if (good) {
    out.Line("verified " + std::to_string(total) + " files of " + std::to_string(manifests.size()) +
             (manifests.size() == 1 ? " backup" : " backups") + ": all good");
    return 0;
  }
  Status s =
      failed ? Status::Problem(std::to_string(failed) + " of " + std::to_string(total) + " files failed verification",
                               "restore from another backup; take a new backup soon")
             : Status::Problem(std::to_string(problems.size()) + " damaged manifest(s)");
  if (out.json()) return s.exit_code();
  return ctx.Fail(s);
}

}  // namespace

void SetupVerify(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<VerifyArgs>();
  cmd->add_option("ID", a->id, "Backup id, or latest (default)");
  cmd->add_flag("--all", a->all, "Verify every backup in the repository");
  cmd->add_option("--repo", a->repo, "Repository URL (default: repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (default: repository.key_file)");
  cmd->add_option("--jobs,-j", a->jobs, "Files read in parallel (default: backup.jobs, else 2)")
      ->check(CLI::Range(1, 64));
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
