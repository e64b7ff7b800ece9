// The repository config, pgkeeper.repo.json: pure data and JSON, no I/O (repository.cc
// reads and writes it). docs/repository-format.md describes the file.
//
// An encrypted repository names its key-encryption key (KEK) by a KeyEntry: the key's
// public id, a key check (a random key wrapped by the KEK, so a wrong key is refused
// before any data is read) and, for a passphrase, the scrypt salt and parameters. While
// `repo rekey` runs (or after it was interrupted) the config holds a RekeyState with both
// entries, and either key opens the repository.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk::repo {

inline constexpr int kRepoFormat = 1;
inline constexpr char kConfigPath[] = "pgkeeper.repo.json";

struct KdfSpec {
  std::string algorithm = "scrypt";
  std::string salt;  // base64, at least pipeline::kSaltSize bytes
  uint64_t n = 0, r = 0, p = 0;
  bool operator==(const KdfSpec&) const = default;
};

struct KeyEntry {
  std::string id;              // pipeline::KeyId of the KEK ("" in configs written before key ids)
  std::string check;           // pipeline::WrapKey(KEK, random key)
  std::optional<KdfSpec> kdf;  // set when the KEK is derived from a passphrase
  bool operator==(const KeyEntry&) const = default;
};

enum class RekeyPhase {
  // Every manifest gains a second wrapping of its data key, by `to`; `from` is still the
  // repository's key and opens every backup.
  kRewrap,
  // `to` is the repository's key and opens every backup; the wrappings by `from` are
  // being dropped from the manifests.
  kCleanup,
};

struct RekeyState {
  RekeyPhase phase = RekeyPhase::kRewrap;
  std::string started;  // ISO 8601 UTC
  KeyEntry from, to;
  bool operator==(const RekeyState&) const = default;
};

struct RepoConfig {
  int format = kRepoFormat;
  std::string created;  // ISO 8601 UTC
  bool encrypted = false;
  KeyEntry key;  // the repository's key (meaningful when encrypted)
  std::optional<RekeyState> rekey;
  bool operator==(const RepoConfig&) const = default;

  // The entries a given key may match: the repository's key, and during a rekey the
  // other one.
  std::vector<const KeyEntry*> AcceptedKeys() const;
};

std::string_view RekeyPhaseName(RekeyPhase phase);  // "rewrap" | "cleanup"
std::string SerializeRepoConfig(const RepoConfig& config);
// Malformed naming `origin` for damaged JSON or an unknown phase; a newer format is
// Malformed with a "use a newer pgkeeper" hint.
Result<RepoConfig> ParseRepoConfig(const std::string& text, const std::string& origin);

}  // namespace pgk::repo
