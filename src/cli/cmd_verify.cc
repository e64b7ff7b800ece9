// `pgkeeper verify [ID|latest|--all]`: reads every stored file of a backup back through
// the verifying pipeline (both digests, sizes, authentication) and names each bad file.
// With --restore-test, each backup that verified is then restored into a scratch database
// (as `drill` does, on the embedded cluster or the --db server) and its counts compared.
#include <algorithm>
#include <memory>

#include "cli/commands.h"
#include "cli/scratch_server.h"
#include "cli/wal_maintenance.h"
#include "drill/drill.h"
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
  bool restore_test = false;
  bool wal = false;
  std::string target = "local";
  std::string dir;
};

// Why a backup cannot be restore-tested (it cannot make a database on its own), or "".
std::string NotRestorable(const repo::Manifest& m) {
  if (m.type != "logical") return m.type + " backup";
  bool has_schema = std::any_of(m.files.begin(), m.files.end(), [](const auto& f) { return f.kind == "schema-pre"; });
  bool data_only = std::find(m.options.begin(), m.options.end(), "data-only") != m.options.end();
  return has_schema && !data_only ? "" : "data-only backup";
}

std::string DescribeMismatches(const std::vector<restore::CountCheck>& mismatches) {
  std::string out;
  for (const auto& c : mismatches) {
    out += (out.empty() ? "" : ", ") + c.table + " (expected " + FormatCount(c.expected) + ", restored " +
           (c.actual < 0 ? std::string("missing") : FormatCount(c.actual)) + ")";
  }
  return out;
}

// Restores each of `manifests` whose files verified (`good`) into a scratch database and
// compares its counts; the scratch database is always dropped, and nothing is recorded in
// the repository (a drill records). Adds "restore_test" to each entry of `backups`, and
// the failures to `failures`. An error is returned only when the scratch server fails.
Status RestoreTests(const Context& ctx, repo::Repository& repo, const std::vector<repo::Manifest>& manifests,
                    const std::vector<bool>& good, const VerifyArgs& a, int jobs, nlohmann::json* backups,
                    std::vector<std::string>* failures) {
  const Output& out = ctx.out;
  std::unique_ptr<ScratchServer> scratch;
  Status status;
  for (size_t i = 0; i < manifests.size() && status.ok(); ++i) {
    const auto& m = manifests[i];
    nlohmann::json& entry = (*backups)[i]["restore_test"];
    std::string skip = !good[i] ? "files failed verification" : NotRestorable(m);
    if (!skip.empty()) {
      entry = {{"ran", false}, {"note", skip}};
      out.Line(m.id + ": restore test skipped (" + skip + ")");
      continue;
    }
    if (!scratch) {
      auto started = ScratchServer::Start(ctx, a.target, a.dir);
      if (!started.ok()) return started.status();
      scratch = std::move(started).value();
    }
    auto r = drill::RunDrill(repo, m, {.server_conninfo = scratch->conninfo(), .target = a.target, .jobs = jobs});
    if (!r.ok() && (r.status().code() == Code::kConnection || r.status().code() == Code::kInterrupted)) {
      status = r.status();
      break;
    }
    if (!r.ok()) {
      entry = {{"ran", true}, {"passed", false}, {"error", r.status().message()}};
      failures->push_back(m.id + ": " + r.status().message());
      out.Line(m.id + ": " + out.Red("restore test failed: ") + r.status().message());
      continue;
    }
    entry = {{"ran", true},
             {"passed", r->mismatches.empty()},
             {"seconds", r->seconds},
             {"tables", r->tables},
             {"rows", r->rows},
             {"mismatches", restore::MismatchesJson(r->mismatches)}};
    if (r->mismatches.empty()) {
      out.Line(m.id + ": restore test " + out.Green("passed") + ": " + std::to_string(r->tables) + " tables, " +
               FormatCount(r->rows) + " rows restored in " + FormatDuration(r->seconds) + ", all counts match");
    } else {
      failures->push_back(m.id + ": " + DescribeMismatches(r->mismatches));
      out.Line(m.id + ": " + out.Red("restore test failed: ") + "row counts differ from the manifest: " +
               DescribeMismatches(r->mismatches));
    }
  }
  if (scratch) {
    Status stopped = scratch->Stop();
    if (status.ok()) status = stopped;
  }
  return status;
}

int Run(Context& ctx, const VerifyArgs& a) {
  auto repo = restore::OpenRepositoryForReading(a.repo, a.key_file, ctx.config);
  if (!repo.ok()) return ctx.Fail(repo.status());
  if (a.wal) {
    return VerifyWalArchive(ctx, **repo, a.jobs > 0 ? a.jobs : static_cast<int>(ctx.config.GetInt("backup.jobs").value_or(2)));
  }
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
  std::vector<bool> good;
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
    good.push_back(n_bad == 0);
    backups.push_back({{"id", m.id}, {"files", m.files.size()}, {"failed", bad}});
    std::string verdict = n_bad == 0 ? out.Green("ok") : out.Red(std::to_string(n_bad) + " bad");
    out.Line(m.id + ": " + std::to_string(m.files.size()) + " files, " +
             FormatBytes(static_cast<int64_t>(m.stored_bytes())) + " stored: " + verdict);
  }
  for (const auto& p : problems) out.Line(out.Red("damaged: ") + p);
  std::vector<std::string> restore_failures;
  if (a.restore_test) {
    Status tested = RestoreTests(ctx, **repo, manifests, good, a, jobs, &backups, &restore_failures);
    if (!tested.ok()) return ctx.Fail(tested);
  }
  bool all_good = failed == 0 && problems.empty() && restore_failures.empty();
  if (out.json()) {
    nlohmann::json j = {{"backups", backups}, {"files", total}, {"failed", failed}, {"damaged", problems}, {"ok", all_good}};
    if (a.restore_test) j["restore_tests_failed"] = restore_failures.size();
    out.Json(j);
  }
  if (all_good) {
    out.Line("verified " + std::to_string(total) + " files of " + std::to_string(manifests.size()) +
             (manifests.size() == 1 ? " backup" : " backups") + (a.restore_test ? " and restored them" : "") +
             ": all good");
    return 0;
  }
  Status s =
      failed ? Status::Problem(std::to_string(failed) + " of " + std::to_string(total) + " files failed verification",
                               "restore from another backup; take a new backup soon")
      : !problems.empty()
          ? Status::Problem(std::to_string(problems.size()) + " damaged manifest(s)")
          : Status::Problem("restore test failed for " + std::to_string(restore_failures.size()) + " backup(s): " +
                                restore_failures.front(),
                            "the stored files are intact but do not restore to what the manifest recorded; "
                            "`pgkeeper drill ID --keep` leaves a restored copy to inspect");
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
  cmd->add_option("--jobs,-j", a->jobs, "Files read (and tables restored) in parallel (default: backup.jobs, else 2)")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--wal", a->wal,
                "Verify the WAL archive instead: every stored WAL file, continuity per timeline, each physical "
                "backup's WAL");
  cmd->add_flag("--restore-test", a->restore_test,
                "Also restore each verified backup into a scratch database, compare counts, drop it");
  auto* target = cmd->add_option("--target", a->target,
                                 "With --restore-test: where the scratch database goes: local (the embedded cluster, "
                                 "default) or server (--db)")
                     ->check(CLI::IsMember({"local", "server"}));
  auto* dir = cmd->add_option("--dir", a->dir,
                              "With --restore-test: the embedded cluster's directory (default: local.dir, else "
                              "./.pgkeeper-demo)");
  target->needs("--restore-test");
  dir->needs("--restore-test");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
