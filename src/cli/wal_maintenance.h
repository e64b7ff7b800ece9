// The WAL archive's part in `verify --wal` and `expire`, kept apart from those commands'
// files (which handle backups) so that each stays about one thing.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/context.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "wal/archive.h"

namespace pgk::cli {

// The repository for the WAL commands: from the flag or repository.url, the key from
// PGKEEPER_ENCRYPTION_KEY, the flag or repository.key_file. No repository lock: wal-push
// runs once per segment and must neither pay for one nor wait behind a backup, and what
// it writes (WAL files under the archive's existing data key) is safe during a rekey.
Result<std::unique_ptr<repo::Repository>> OpenWalRepository(const Context& ctx, const std::string& repo_flag,
                                                            const std::string& key_file_flag, bool create,
                                                            bool metadata_only = false);

// wal-push's and wal-receive's pipeline settings: the flags (empty / -1000 when not
// given), else wal.compression and wal.compression_level, else zstd at level 1.
Result<wal::PushOptions> WalPushOptions(const Context& ctx, const std::string& compression_flag, int level_flag);

// What each retained physical backup needs from the archive (start to stop, its timeline).
std::vector<wal::BackupWal> PhysicalBackupsWal(const std::vector<repo::Manifest>& manifests);

// `verify --wal`: reads every stored WAL file back through the verifying pipeline (`jobs`
// at a time) naming each corrupted one, reports the runs and gaps per timeline, and for
// each physical backup whether the WAL from its start to its stop is there and up to
// where it can be recovered. Returns the exit code (1 when anything is wrong).
int VerifyWalArchive(Context& ctx, repo::Repository& repo, int jobs);

// `expire`: removes the WAL no retained physical backup needs (wal::PlanWalExpire), or
// with `dry_run` only says what it would remove. Fills `doc` ("wal" in expire's JSON).
// No archive in the repository is not an error (nothing to do). With `damaged` manifests
// nothing is removed: one of them may be a physical backup that needs the WAL.
Status ExpireWal(const Context& ctx, repo::Repository& repo, const std::vector<repo::Manifest>& retained,
                 const std::vector<std::string>& damaged, bool dry_run, nlohmann::json* doc);

}  // namespace pgk::cli
