#include "repo/rekey.h"

#include <atomic>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/parallel.h"
#include "repo/wal_info.h"

namespace pgk::repo {

namespace {

using nlohmann::json;

constexpr char kWrapped[] = "wrapped_data_key";
constexpr char kKeyId[] = "key_id";
constexpr char kRekeyWrapped[] = "rekey_wrapped_data_key";
constexpr char kRekeyKeyId[] = "rekey_key_id";

// A file holding a wrapped data key (a manifest, the WAL archive's info), kept as JSON so
// that rewriting it changes the key fields and nothing else, whatever else it holds.
struct Wrapped {
  std::string path;
  std::string label;  // "backup <id>", "the WAL archive"
  json doc;
  pipeline::Key data_key;
};

std::string Field(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Keys {
  KeyEntry from, to;
  pipeline::Key from_kek, to_kek;
};

// Manifests read and rewritten at once: each is one small round trip, which on S3 costs
// tens of milliseconds, so a repository of a thousand backups would otherwise take minutes
// per pass. The order between manifests does not matter (each rewrite is atomic and the
// config is the commit point).
constexpr int kParallelRequests = 8;

// Progress lines from the workers, one at a time.
class Progress {
 public:
  Progress(const RekeyOptions& o, size_t total) : o_(o), total_(total) {}
  void Report(const std::string& what, const std::string& label) {
    size_t n = ++done_;
    if (!o_.progress) return;
    std::lock_guard<std::mutex> lock(mu_);
    o_.progress(what + " " + std::to_string(n) + "/" + std::to_string(total_) + ": " + label);
  }

 private:
  const RekeyOptions& o_;
  size_t total_;
  std::atomic<size_t> done_{0};
  std::mutex mu_;
};

// `fn` on every item: the WAL archive's info (always first in `items`, see Gather) alone
// and before the manifests, which go kParallelRequests at a time.
Status ForEachItem(std::vector<Wrapped>& items, const std::function<Status(Wrapped&)>& fn) {
  size_t first = 0;
  if (!items.empty() && items.front().path == kWalArchiveInfoPath) {
    PGK_RETURN_IF_ERROR(fn(items.front()));
    first = 1;
  }
  return ParallelForEach(items.size() - first, kParallelRequests,
                         [&](int, size_t i) { return fn(items[first + i]); });
}

Result<pipeline::Key> UnwrapAny(const json& doc, const Keys& k, const std::string& label) {
  for (const auto& [wrapped_field, id_field] : {std::pair{kWrapped, kKeyId}, std::pair{kRekeyWrapped, kRekeyKeyId}}) {
    std::string wrapped = Field(doc, wrapped_field), id = Field(doc, id_field);
    if (wrapped.empty()) continue;
    const pipeline::Key* kek = id == k.to.id ? &k.to_kek : id.empty() || id == k.from.id ? &k.from_kek : nullptr;
    if (kek == nullptr) continue;
    auto key = pipeline::UnwrapKey(*kek, wrapped);
    if (key.ok()) return key;
  }
  return Status::Malformed(
      label + "'s data key opens with neither key (" + k.from.id + ", " + k.to.id + "); nothing was changed",
      "check it with `pgkeeper verify`; remove the backup if it is damaged");
}

// `path` with its data key unwrapped; nullopt when it does not exist or holds no wrapped
// key (an unencrypted WAL archive).
Result<std::optional<Wrapped>> Load(Repository& repo, const std::string& path, const std::string& label,
                                    const Keys& k) {
  auto text = repo.storage().Get(path);
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::optional<Wrapped>();
  if (!text.ok()) return text.status();
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::exception& e) {
    return Status::Malformed(repo.Url() + "/" + path + " is damaged: " + e.what() + "; nothing was changed");
  }
  if (Field(doc, kWrapped).empty()) return std::optional<Wrapped>();
  PGK_ASSIGN_OR_RETURN(pipeline::Key data_key, UnwrapAny(doc, k, label));
  return std::optional<Wrapped>(Wrapped{path, label, std::move(doc), std::move(data_key)});
}

// Every manifest with a wrapped data key, and the WAL archive's info (first: pushes run
// all the time, and the sooner its new wrapping is the primary one, the sooner a push with
// the new key works). Every data key is unwrapped here, before anything is written, so
// that one that opens with neither key stops the rekey while nothing has changed.
Result<std::vector<Wrapped>> Gather(Repository& repo, const Keys& k) {
  std::vector<std::string> problems;
  PGK_ASSIGN_OR_RETURN(auto manifests, repo.ListBackups(&problems));
  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += "\n  " + p;
    return Status::Refused(std::to_string(problems.size()) + " damaged manifest(s) in " + repo.Url() +
                               ": their data keys cannot be rewrapped; nothing was changed" + list,
                           "remove those backups' directories (they cannot be restored) and run the rekey again");
  }
  std::vector<Wrapped> out;
  PGK_ASSIGN_OR_RETURN(auto wal, Load(repo, kWalArchiveInfoPath, "the WAL archive", k));
  if (wal) out.push_back(std::move(*wal));
  std::vector<const Manifest*> encrypted;
  for (const auto& m : manifests)
    if (!m.wrapped_data_key.empty()) encrypted.push_back(&m);
  std::vector<std::optional<Wrapped>> loaded(encrypted.size());
  PGK_RETURN_IF_ERROR(ParallelForEach(encrypted.size(), kParallelRequests, [&](int, size_t i) -> Status {
    const std::string& id = encrypted[i]->id;
    PGK_ASSIGN_OR_RETURN(loaded[i], Load(repo, ManifestPath(id), "backup " + id, k));
    return Status::Ok();
  }));
  for (auto& w : loaded)
    if (w) out.push_back(std::move(*w));
  return out;
}

Status Save(Repository& repo, const Wrapped& w) {
  return repo.storage().Put(w.path, w.doc.dump(2) + "\n", {.atomic = true, .sync = true});
}

// Step 2: a second wrapping by `to`, next to the one by `from`.
Status AddNewWrappings(Repository& repo, const Keys& k, std::vector<Wrapped>& items, const RekeyOptions& o) {
  Progress progress(o, items.size());
  return ForEachItem(items, [&](Wrapped& w) -> Status {
    if (Field(w.doc, kKeyId) != k.to.id && Field(w.doc, kRekeyKeyId) != k.to.id) {
      if (Field(w.doc, kKeyId).empty()) w.doc[kKeyId] = k.from.id;
      w.doc[kRekeyWrapped] = pipeline::WrapKey(k.to_kek, w.data_key);
      w.doc[kRekeyKeyId] = k.to.id;
      PGK_RETURN_IF_ERROR(Save(repo, w));
    }
    progress.Report("wrapped", w.label);
    return Status::Ok();
  });
}

// Step 4: only the wrapping by `to` remains. Anything that somehow lacks one gets it from
// the data key directly.
Status DropOldWrappings(Repository& repo, const Keys& k, std::vector<Wrapped>& items, const RekeyOptions& o,
                        RekeyResult* result) {
  for (const auto& w : items) {
    bool is_wal = w.path == kWalArchiveInfoPath;
    result->backups += is_wal ? 0 : 1;
    result->wal_archive |= is_wal;
  }
  Progress progress(o, items.size());
  return ForEachItem(items, [&](Wrapped& w) -> Status {
    if (Field(w.doc, kKeyId) != k.to.id || w.doc.contains(kRekeyWrapped)) {
      w.doc[kWrapped] = Field(w.doc, kRekeyKeyId) == k.to.id ? Field(w.doc, kRekeyWrapped)
                                                               : pipeline::WrapKey(k.to_kek, w.data_key);
      w.doc[kKeyId] = k.to.id;
      w.doc.erase(kRekeyWrapped);
      w.doc.erase(kRekeyKeyId);
      PGK_RETURN_IF_ERROR(Save(repo, w));
    }
    progress.Report("dropped the old key", w.label);
    return Status::Ok();
  });
}

Result<bool> AlreadyDone(const RekeyOptions& o) {
  OpenOptions check = o.open;
  check.metadata_only = true;
  check.key = o.next;
  check.lock = LockMode::kNone;
  auto done = Repository::Open(check);
  return done.ok() && !(*done)->config().rekey && (*done)->key_id() == (*done)->config().key.id;
}

}  // namespace

Result<RekeyResult> Rekey(const RekeyOptions& o) {
  RekeyResult result;
  {
    OpenOptions probe = o.open;
    probe.metadata_only = true;
    probe.key = KeySource();
    probe.lock = LockMode::kNone;
    PGK_ASSIGN_OR_RETURN(auto repo, Repository::Open(probe));
    if (!repo->config().encrypted) {
      return Status::Refused("the repository " + repo->Url() +
                                 " is not encrypted: repo rekey changes the key of an "
                                 "encrypted repository, and encrypting existing backups would mean rewriting them",
                             "take new backups with a key into a new repository, and expire this one once its "
                             "backups are no longer needed");
    }
  }
  OpenOptions open = o.open;
  open.lock = LockMode::kExclusive;
  open.lock_purpose = "repo rekey";
  auto opened = Repository::Open(open);
  if (!opened.ok()) {
    // A rerun after the last step: the new key already is the repository's.
    if (opened.status().code() == Code::kMalformed && *AlreadyDone(o)) {
      result.already_done = true;
      return result;
    }
    return opened.status();
  }
  Repository& repo = **opened;
  RepoConfig cfg = repo.config();
  Keys k;
  k.from_kek = *repo.repo_key();
  bool fresh = !cfg.rekey;
  if (cfg.rekey && repo.key_id() == cfg.rekey->to.id) {
    return Status::Refused("the key from " + (o.open.key ? o.open.key->origin() : std::string("the environment")) +
                               " is the new key of the unfinished key change",
                           "run `pgkeeper repo rekey` again with the old key (id " + cfg.rekey->from.id +
                               ") as the current key and this one as the new key");
  }
  k.from = cfg.rekey ? cfg.rekey->from : cfg.key;
  if (Unlock(o.next, k.from).ok()) {
    return Status::Refused(
        "the new key from " + o.next.origin() + " is the repository's current key (id " + k.from.id + ")",
        "give a different new key");
  }
  if (cfg.rekey) {
    auto to_kek = Unlock(o.next, cfg.rekey->to);
    if (to_kek.ok()) {
      k.to = cfg.rekey->to;
      k.to_kek = *to_kek;
      result.resumed = true;
    } else if (cfg.rekey->phase == RekeyPhase::kCleanup) {
      return Status::Refused("an unfinished key change already made key " + cfg.rekey->to.id +
                                 " the repository's key, and the new key from " + o.next.origin() + " is not that key",
                             "run it again with that key as the new key; `pgkeeper repo rekey` can change it after");
    } else {
      fresh = true;  // nothing depends on the abandoned new key yet: replace it
      result.retargeted = true;
    }
  }
  if (fresh) {
    PGK_ASSIGN_OR_RETURN(auto entry, o.next.NewEntry());
    k.to = std::move(entry.first);
    k.to_kek = std::move(entry.second);
  }
  result.from_id = k.from.id;
  result.to_id = k.to.id;

  PGK_ASSIGN_OR_RETURN(auto items, Gather(repo, k));
  if (fresh) {
    cfg.rekey =
        RekeyState{.phase = RekeyPhase::kRewrap, .started = Iso8601(std::time(nullptr)), .from = k.from, .to = k.to};
    PGK_RETURN_IF_ERROR(repo.WriteConfig(cfg));
  }
  if (cfg.rekey->phase == RekeyPhase::kRewrap) {
    PGK_RETURN_IF_ERROR(AddNewWrappings(repo, k, items, o));
    cfg.key = k.to;
    cfg.rekey->phase = RekeyPhase::kCleanup;
    PGK_RETURN_IF_ERROR(repo.WriteConfig(cfg));
    if (o.progress) o.progress("key " + k.to.id + " is now the repository's key");
  }
  PGK_RETURN_IF_ERROR(DropOldWrappings(repo, k, items, o, &result));
  // A WAL archive created meanwhile (pushes take no lock) would hold the old key only.
  if (!result.wal_archive) {
    PGK_ASSIGN_OR_RETURN(auto wal, Load(repo, kWalArchiveInfoPath, "the WAL archive", k));
    if (wal) {
      std::vector<Wrapped> late{std::move(*wal)};
      PGK_RETURN_IF_ERROR(DropOldWrappings(repo, k, late, o, &result));
    }
  }
  cfg.rekey.reset();
  PGK_RETURN_IF_ERROR(repo.WriteConfig(cfg));
  return result;
}

}  // namespace pgk::repo
