// Where a repository's key-encryption key comes from: a 256-bit key (environment or key
// file) or a passphrase (environment) run through scrypt with the salt the repository
// keeps. A KeySource holds what the user gave; the KEK for a given KeyEntry is derived on
// demand because a passphrase gives a different KEK for each salt.
//
// Current key, first that is set:  PGKEEPER_ENCRYPTION_KEY, PGKEEPER_ENCRYPTION_PASSPHRASE,
//                                  the key file (--key-file, else repository.key_file).
// New key (`repo rekey`):          PGKEEPER_NEW_ENCRYPTION_KEY,
//                                  PGKEEPER_NEW_ENCRYPTION_PASSPHRASE, --new-key-file.
// Setting both the key and the passphrase variable of one kind is an error: which one
// wins would be a guess.
//
// Secrets never appear in messages; the passphrase is wiped when the source goes away.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "common/status.h"
#include "pipeline/key.h"
#include "repo/repo_config.h"

namespace pgk::repo {

inline constexpr char kPassphraseEnvVar[] = "PGKEEPER_ENCRYPTION_PASSPHRASE";
inline constexpr char kNewKeyEnvVar[] = "PGKEEPER_NEW_ENCRYPTION_KEY";
inline constexpr char kNewPassphraseEnvVar[] = "PGKEEPER_NEW_ENCRYPTION_PASSPHRASE";

class KeySource {
 public:
  KeySource() = default;  // no key given
  static KeySource FromKey(pipeline::Key key, std::string origin);
  static KeySource FromPassphrase(std::string passphrase, std::string origin);
  KeySource(const KeySource& other);
  KeySource& operator=(const KeySource& other);
  ~KeySource();

  // The current key (see above); an empty source when none is given.
  static Result<KeySource> Current(const std::string& key_file);
  // The new key for `repo rekey`; Config error when none is given.
  static Result<KeySource> New(const std::string& new_key_file);

  bool given() const { return key_.has_value() || !passphrase_.empty(); }
  bool is_passphrase() const { return !passphrase_.empty(); }
  // "PGKEEPER_ENCRYPTION_KEY", "key file /x", ...: for messages.
  const std::string& origin() const { return origin_; }

  // The KEK this source gives for `entry`: the key itself, or the passphrase through the
  // entry's KDF. Refused when the kinds differ (a passphrase for a key entry or the other
  // way round), naming what the repository expects.
  Result<pipeline::Key> KekFor(const KeyEntry& entry) const;
  // A new entry for this source (a passphrase gets a fresh salt), and its KEK.
  Result<std::pair<KeyEntry, pipeline::Key>> NewEntry() const;

 private:
  std::optional<pipeline::Key> key_;
  std::string passphrase_;
  std::string origin_;
};

// The KEK of `source` when it opens `entry` (its key check unwraps), else the error: a
// kind mismatch (Refused) or pipeline::kDecryptionFailed (Malformed).
Result<pipeline::Key> Unlock(const KeySource& source, const KeyEntry& entry);

}  // namespace pgk::repo
