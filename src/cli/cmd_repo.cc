// `pgkeeper repo info|rekey`: the repository itself rather than its backups. info reads
// the config, manifests and locks (no key needed); rekey changes the encryption key
// without rewriting data (repo/rekey.h).
#include <cstdio>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/prompt.h"
#include "common/log.h"
#include "repo/rekey.h"
#include "repo/wal_info.h"
#include "restore/open.h"

namespace pgk::cli {

namespace {

struct RepoArgs {
  std::string repo;
  std::string key_file;
  std::string new_key_file;
};

nlohmann::json EntryJson(const repo::KeyEntry& e) {
  nlohmann::json j = {{"id", e.id}, {"kind", e.kdf ? "passphrase" : "key"}};
  if (e.kdf) j["kdf"] = {{"algorithm", e.kdf->algorithm}, {"n", e.kdf->n}, {"r", e.kdf->r}, {"p", e.kdf->p}};
  return j;
}

std::string EntryText(const repo::KeyEntry& e) {
  std::string id = e.id.empty() ? "(no id: written before key ids)" : e.id;
  if (!e.kdf) return id + " (256-bit key)";
  return id + " (passphrase, " + e.kdf->algorithm + " n=" + std::to_string(e.kdf->n) +
         " r=" + std::to_string(e.kdf->r) + " p=" + std::to_string(e.kdf->p) + ")";
}

int RunInfo(Context& ctx, const RepoArgs& a) {
  auto opened = restore::OpenRepositoryForReading(a.repo, a.key_file, ctx.config, /*metadata_only=*/true);
  if (!opened.ok()) return ctx.Fail(opened.status());
  repo::Repository& r = **opened;
  const repo::RepoConfig& c = r.config();
  std::vector<std::string> damaged;
  auto backups = r.ListBackups(&damaged);
  if (!backups.ok()) return ctx.Fail(backups.status());
  auto unfinished = r.ListUnfinished();
  if (!unfinished.ok()) return ctx.Fail(unfinished.status());
  auto locks = repo::ListLocks(r.storage());
  if (!locks.ok()) return ctx.Fail(locks.status());
  auto wal = r.storage().Exists(repo::kWalArchiveInfoPath);
  if (!wal.ok()) return ctx.Fail(wal.status());
  uint64_t original = 0, stored = 0;
  std::map<std::string, int> by_type;
  for (const auto& m : *backups) {
    original += m.original_bytes();
    stored += m.stored_bytes();
    ++by_type[m.type];
  }
  const Output& out = ctx.out;
  if (out.json()) {
    nlohmann::json lock_list = nlohmann::json::array();
    for (const auto& l : *locks) {
      lock_list.push_back({{"path", l.path},
                           {"mode", repo::LockModeName(l.mode)},
                           {"purpose", l.purpose},
                           {"host", l.host},
                           {"pid", l.pid},
                           {"acquired", l.acquired},
                           {"refreshed", l.refreshed},
                           {"stale", l.stale},
                           {"stale_reason", l.stale_reason}});
    }
    nlohmann::json rekey = nullptr;
    if (c.rekey) {
      rekey = {{"phase", repo::RekeyPhaseName(c.rekey->phase)},
               {"started", c.rekey->started},
               {"from", EntryJson(c.rekey->from)},
               {"to", EntryJson(c.rekey->to)}};
    }
    out.Json({{"repository", r.Url()},
              {"format", c.format},
              {"created", c.created},
              {"encrypted", c.encrypted},
              {"key", c.encrypted ? EntryJson(c.key) : nlohmann::json(nullptr)},
              {"given_key_id", r.key_id().empty() ? nlohmann::json(nullptr) : nlohmann::json(r.key_id())},
              {"rekey", rekey},
              {"backups",
               {{"count", backups->size()},
                {"by_type", by_type},
                {"original_bytes", original},
                {"stored_bytes", stored},
                {"oldest", backups->empty() ? nlohmann::json(nullptr) : nlohmann::json(backups->front().id)},
                {"newest", backups->empty() ? nlohmann::json(nullptr) : nlohmann::json(backups->back().id)}}},
              {"unfinished", *unfinished},
              {"damaged", damaged},
              {"wal_archive", *wal},
              {"locks", lock_list}});
    return 0;
  }
  auto field = [&](const std::string& name, const std::string& value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%-14s", (name + ":").c_str());
    out.Line(std::string(buf) + value);
  };
  field("repository", r.Url());
  field("format", std::to_string(c.format));
  field("created", c.created);
  field("encryption", c.encrypted ? "aes-256-gcm, key " + EntryText(c.key) : "none");
  if (c.encrypted)
    field("given key", r.key_id().empty() ? "none (not needed here)" : "opens it (key " + r.key_id() + ")");
  if (c.rekey) {
    field("rekey",
          out.Yellow("unfinished, phase " + std::string(repo::RekeyPhaseName(c.rekey->phase)) + ": from " +
                     EntryText(c.rekey->from) + " to " + EntryText(c.rekey->to) + ", started " + c.rekey->started));
  } else {
    field("rekey", "none in progress");
  }
  std::string types;
  for (const auto& [type, n] : by_type) types += (types.empty() ? "" : ", ") + type + " " + std::to_string(n);
  field("backups", std::to_string(backups->size()) + (types.empty() ? "" : " (" + types + ")") + ", " +
                       FormatBytes(static_cast<int64_t>(original)) + ", stored " +
                       FormatBytes(static_cast<int64_t>(stored)));
  if (!backups->empty()) field("oldest, newest", backups->front().id + ", " + backups->back().id);
  std::string ids;
  for (const auto& id : *unfinished) ids += (ids.empty() ? "" : ", ") + id;
  field("unfinished", unfinished->empty() ? "none" : out.Yellow(ids + " (removed by expire)"));
  field("damaged", damaged.empty() ? "none" : out.Red(std::to_string(damaged.size()) + " manifest(s)"));
  for (const auto& d : damaged) out.Line("  " + d);
  field("wal archive", *wal ? "yes" : "no");
  field("locks", locks->empty() ? "none" : std::to_string(locks->size()));
  for (const auto& l : *locks)
    out.Line("  " + l.Describe() + (l.stale ? out.Dim(" (stale: " + l.stale_reason + ")") : ""));
  return 0;
}

int RunRekey(Context& ctx, const RepoArgs& a) {
  std::string url = !a.repo.empty() ? a.repo : ctx.config.GetString("repository.url").value_or("");
  if (url.empty()) {
    return ctx.Fail(
        Status::InvalidArgument("no repository given", "pass --repo URL, or set repository.url in the config file"));
  }
  repo::RekeyOptions o;
  auto current = repo::KeySource::Current(
      !a.key_file.empty() ? a.key_file : ctx.config.GetString("repository.key_file").value_or(""));
  if (!current.ok()) return ctx.Fail(current.status());
  if (!current->given()) {
    return ctx.Fail(Status::Config("no current encryption key given",
                                   std::string("set ") + pipeline::kKeyEnvVar + " or " + repo::kPassphraseEnvVar +
                                       ", or pass --key-file; the new key goes in " + repo::kNewKeyEnvVar + ", " +
                                       repo::kNewPassphraseEnvVar + " or --new-key-file"));
  }
  auto next = repo::KeySource::New(a.new_key_file);
  if (!next.ok()) return ctx.Fail(next.status());
  o.open = {.url = url, .key = *current};
  o.next = *next;
  Status confirmed = Confirm(ctx, "change the encryption key of " + url + ": afterwards only the new key opens it");
  if (!confirmed.ok()) return ctx.Fail(confirmed);
  const Output& out = ctx.out;
  o.progress = [&](const std::string& event) { log::Debug("{}", event); };
  auto r = repo::Rekey(o);
  if (!r.ok()) return ctx.Fail(r.status().WithContext("repo rekey"));
  if (out.json()) {
    out.Json({{"repository", url},
              {"from", r->from_id},
              {"to", r->to_id},
              {"backups", r->backups},
              {"wal_archive", r->wal_archive},
              {"resumed", r->resumed},
              {"retargeted", r->retargeted},
              {"already_done", r->already_done}});
    return 0;
  }
  if (r->already_done) {
    out.Line("the repository " + url + " already uses the new key: nothing to do");
    return 0;
  }
  if (r->resumed) out.Line("finished the interrupted key change");
  if (r->retargeted) out.Line(out.Yellow("replaced the interrupted key change's new key with this one"));
  out.Line("rekeyed " + url + ": key " + r->from_id + " -> " + r->to_id + "; " + std::to_string(r->backups) +
           " backup(s)" + (r->wal_archive ? " and the WAL archive" : "") + " rewrapped, no data file rewritten");
  out.Line(
      "the old key no longer opens this repository: use the new one everywhere (backups, archive_command, restores)");
  return 0;
}

}  // namespace

void SetupRepo(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<RepoArgs>();
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --repo may follow info/rekey
  cmd->add_option("--repo", a->repo, "Repository URL (default: repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (default: repository.key_file)");
  cmd->add_subcommand("info",
                      "Format, encryption and key id, backups and sizes, unfinished backups, rekey state, locks");
  auto* rekey = cmd->add_subcommand(
      "rekey", "Change the encryption key: rewraps each backup's data key, never rewrites data (needs --yes)");
  rekey->add_option(
      "--new-key-file", a->new_key_file,
      "File holding the new key (or set PGKEEPER_NEW_ENCRYPTION_KEY / PGKEEPER_NEW_ENCRYPTION_PASSPHRASE)");
  rekey->footer(
      "Crash-safe: if interrupted, run it again with the same keys to finish. Backups are refused "
      "while a rekey is unfinished.");
  *handler = [cmd, a](Context& ctx) -> int {
    std::string name = cmd->get_subcommands().front()->get_name();
    if (name == "rekey") return RunRekey(ctx, *a);
    return RunInfo(ctx, *a);
  };
}

}  // namespace pgk::cli
