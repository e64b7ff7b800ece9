// `repo rekey`: changes an encrypted repository's key without rewriting backup data. Each
// backup (and the WAL archive) has its own data key wrapped by the repository key; a rekey
// rewraps those few wrapped keys and the key check, and never touches a data file.
//
// Crash safety. The config is the commit point, and at every moment one key opens every
// backup:
//   1. the config gains a rekey state {phase "rewrap", from, to}: either key opens the
//      repository from now on;
//   2. every manifest gains a second wrapping of its data key, by `to` (each manifest is
//      rewritten atomically): `from` still opens every backup;
//   3. the config makes `to` the repository's key, phase "cleanup" (atomic): `to` opens
//      every backup;
//   4. the wrappings by `from` are dropped, manifest by manifest;
//   5. the rekey state is removed: only `to` opens the repository.
// Killed at any point, a rerun with the same two keys finds the state and finishes the
// job (steps are idempotent). While the state exists, commands that write backups are
// refused (they would wrap with one key only). In phase "rewrap" a rerun may name a
// different new key: nothing depends on the abandoned one yet.
//
// Concurrency: the rekey holds the repository lock exclusively (lock.h); backup, expire
// and drill hold it shared, so none of them runs during a rekey.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "repo/key_source.h"
#include "repo/repository.h"

namespace pgk::repo {

struct RekeyOptions {
  OpenOptions open;  // url (or open_storage) and key: the current key; lock is set here
  KeySource next;    // the new key
  std::function<void(const std::string&)> progress;
};

struct RekeyResult {
  std::string from_id, to_id;
  size_t backups = 0;         // backups whose data key is now wrapped by the new key
  bool wal_archive = false;   // the WAL archive's data key was rewrapped too
  bool resumed = false;       // an interrupted rekey was finished
  bool retargeted = false;    // an interrupted rekey's new key was replaced by this one
  bool already_done = false;  // the new key already was the repository's key: nothing to do
};

// Refused for an unencrypted repository (its data would have to be rewritten), a new key
// equal to the current one, an unfinished rekey to another key that is already committed,
// damaged manifests or data keys that open with neither key (before anything is changed).
Result<RekeyResult> Rekey(const RekeyOptions& options);

}  // namespace pgk::repo
