// The WAL archive inside a repository: what `wal-push` (archive_command) stores, what
// `wal-fetch` (restore_command) serves, and what physical backups, `verify` and `expire`
// consult. The one place that knows the archive's layout (docs/repository-format.md).
//
// Layout, under the repository root:
//
//   wal/archive.json                                  identity and data key (repo/wal_info.h)
//   wal/<TLI><LOG>/<segment>-<sha256>[.zst|.lz4][.enc]             segments
//   wal/<TLI><LOG>/<segment>.partial-<sha256>[...]                 partial segments
//   wal/<TLI><LOG>/<segment>.<offset>.backup-<sha256>[...]         backup history files
//   wal/history/<TLI>.history-<sha256>[...]                        timeline history files
//
//   <TLI><LOG> is the first 16 hex digits of the segment name (timeline and "log"), so a
//   directory holds at most 256 segments of 16 MiB (like pgBackRest). <sha256> is the
//   lowercase hex SHA-256 of the original file; the suffixes say how the stored bytes were
//   made (zstd / lz4 frame, then the chunked AES-256-GCM format of pipeline/encrypt.h).
//   The name carries everything a reader needs to verify the file, so one atomic write per
//   WAL file is enough (no sidecar, no index to keep consistent) and a listing alone shows
//   continuity, duplicates and conflicts.
//
// Identity: wal/archive.json records the system identifier of the cluster that created
// the archive (from pg_control and each segment's long page header). A push from another
// cluster is refused (Refused, exit 2), never mixed in.
//
// Encryption: an encrypted repository gives the archive one random data key, wrapped by
// the repository key in wal/archive.json (`repo rekey` rewraps it there); every WAL file
// has its own random 96-bit base nonce under that key (far below GCM's limit: 2^32 files
// would be 64 PiB of 16 MiB segments).
//
// Never an overwrite: pushing a file already stored with the same SHA-256 succeeds without
// writing; a stored file of the same name with different contents is Refused. A fetch that
// finds two different stored copies of one name (two clusters raced) refuses to choose.
//
// Thread safety: an Archive may be used from several threads at once (Push and Fetch of
// different files in parallel, as async mode does); it holds no mutable state after Open.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/compress.h"
#include "pipeline/key.h"
#include "pipeline/pipeline.h"
#include "repo/repository.h"
#include "repo/wal_info.h"
#include "wal/segment.h"

namespace pgk::wal {

// What identifies the cluster a WAL file comes from.
struct ClusterIdentity {
  uint64_t system_identifier = 0;
  uint64_t wal_segment_size = 0;  // 0 when unknown (no segment seen yet)
  uint32_t pg_control_version = 0;
  uint32_t wal_page_magic = 0;
};

// One stored WAL file, from its storage path alone.
struct StoredWal {
  WalFile file;        // kind, timeline, segno, name (%f)
  std::string path;    // storage path, e.g. "wal/0000000100000000/000000010000000000000003-<sha>.zst"
  std::string sha256;  // of the original bytes
  pipeline::Compression compression = pipeline::Compression::kNone;
  pipeline::Cipher cipher = pipeline::Cipher::kNone;
  uint64_t stored_size = 0;
  int64_t mtime_s = 0;  // when it was archived (storage mtime / last-modified)
};

struct PushOptions {
  pipeline::Compression compression = pipeline::Compression::kZstd;
  int compression_level = 1;  // WAL is pushed once per segment on the server's critical path: favour speed
};

struct PushResult {
  bool already_archived = false;  // the same contents were stored before: nothing written
  StoredWal stored;
  uint64_t original_size = 0;
};

// The storage path of a WAL file's directory ("wal/0000000100000000/", "wal/history/").
std::string WalDir(const WalFile& file);
// The storage path a WAL file is stored under, given its digest and layers.
std::string StoredPath(const WalFile& file, const std::string& sha256, pipeline::Compression compression,
                       pipeline::Cipher cipher);
// Parses a storage path under wal/ back into a StoredWal (size and mtime left 0).
// InvalidArgument for anything that is not a stored WAL file (archive.json, temp files).
Result<StoredWal> ParseStoredPath(const std::string& path, uint64_t segment_size);

class Archive {
 public:
  // The existing archive of `repo` (which must outlive the Archive). NotFound "no WAL
  // archive in <url>" when nothing was ever pushed; Malformed for a damaged archive.json;
  // Malformed "wrong encryption key" when the repository key does not open the data key.
  static Result<std::unique_ptr<Archive>> Open(repo::Repository& repo);
  // For wal-push: opens the archive, creating it for `cluster` when there is none.
  // Refused when the archive belongs to a cluster with another system identifier or
  // segment size.
  static Result<std::unique_ptr<Archive>> OpenForPush(repo::Repository& repo, const ClusterIdentity& cluster,
                                                      const PushOptions& options);

  const repo::WalArchiveInfo& info() const { return info_; }
  uint64_t segment_size() const { return info_.wal_segment_size; }
  repo::Repository& repository() const { return repo_; }
  // False for an encrypted archive opened without the key (a metadata-only repository):
  // listing works, Push, Fetch and Verify are Refused.
  bool can_read_data() const { return key_.has_value() || info_.wrapped_data_key.empty(); }

  // Stores the local file `local` as WAL file `wal_name` (what PostgreSQL passes as %f;
  // the base name of %p). Checks a segment's size and its page header's system identifier
  // against the archive. Refused for different contents already stored under that name or
  // a foreign cluster; IO when the local file changed while it was being read.
  Result<PushResult> Push(const std::filesystem::path& local, const std::string& wal_name,
                          const PushOptions& options) const;

  // Restores WAL file `wal_name` to `dest` (what PostgreSQL passes as %p): written to a
  // temporary file beside it and renamed only once every check passed, so `dest` never
  // holds unverified bytes. NotFound (quietly: recovery asks for files that do not exist)
  // when the archive has no such file; Malformed naming the stored file when it is
  // corrupted (checksum, authentication, size).
  Status Fetch(const std::string& wal_name, const std::filesystem::path& dest) const;
  // The same, into memory (history and backup history files, which are small).
  Result<std::string> FetchToString(const std::string& wal_name) const;

  // The stored copy of `wal_name`, or nullopt. Malformed when two different copies exist.
  Result<std::optional<StoredWal>> Find(const std::string& wal_name) const;
  // Every stored WAL file, sorted by path (so by timeline, then segment). Unparseable
  // names (debris) are reported through `problems` when not null.
  Result<std::vector<StoredWal>> List(std::vector<std::string>* problems = nullptr) const;
  // Reads one stored file through the verifying pipeline, keeping nothing (`verify`).
  Status Verify(const StoredWal& file) const;
  // Verify() of each of `files`, `jobs` at a time; the statuses in the same order.
  std::vector<Status> VerifyAll(const std::vector<StoredWal>& files, int jobs) const;
  // Removes one stored file (`expire`).
  Status Remove(const StoredWal& file) const;

 private:
  Archive(repo::Repository& repo, repo::WalArchiveInfo info, std::optional<pipeline::Key> key)
      : repo_(repo), info_(std::move(info)), key_(std::move(key)) {}
  Result<std::unique_ptr<storage::Reader>> OpenStored(const StoredWal& file) const;

  repo::Repository& repo_;
  repo::WalArchiveInfo info_;
  std::optional<pipeline::Key> key_;  // the archive's data key (unwrapped)
};

// ---- Continuity, waiting, retention (pure functions over a listing, plus one poll) ----

// A run of consecutive segments [first, last] on one timeline.
struct SegmentRange {
  uint32_t timeline = 0;
  uint64_t first = 0;
  uint64_t last = 0;
  bool operator==(const SegmentRange&) const = default;
};

struct ArchiveSummary {
  std::vector<SegmentRange> runs;           // contiguous runs of stored segments, per timeline, in order
  std::vector<SegmentRange> gaps;           // missing segments between two runs of one timeline
  std::vector<uint32_t> history_timelines;  // timelines with a stored .history file
  size_t segments = 0, partials = 0, backup_histories = 0;
  std::optional<StoredWal> newest;  // the segment with the highest (timeline, segno)
};
ArchiveSummary Summarize(const std::vector<StoredWal>& files);

// The segment names on `timeline` from the one holding `start_lsn` to the one holding the
// byte before `stop_lsn` (what a backup from start to stop needs) that are not in `files`.
std::vector<std::string> MissingSegments(const std::vector<StoredWal>& files, uint32_t timeline, uint64_t start_lsn,
                                         uint64_t stop_lsn, uint64_t segment_size);

// Polls the archive until every segment a backup from start_lsn to stop_lsn on `timeline`
// needs is stored; Timeout naming the first missing segment after `timeout_s` seconds.
Status WaitForArchived(const Archive& archive, uint32_t timeline, uint64_t start_lsn, uint64_t stop_lsn, int timeout_s);

// What a retained physical backup needs from the archive (for expire).
struct BackupWal {
  std::string backup_id;
  uint32_t timeline = 0;
  uint64_t start_lsn = 0;
  uint64_t stop_lsn = 0;
};

struct WalExpirePlan {
  std::vector<StoredWal> remove;
  size_t keep = 0;
  std::string reason;  // for the operator: why this much is kept
};
// Keeps every file from the oldest retained backup's start segment on (any timeline),
// and every timeline history file; removes older segments, partials and backup history
// files. With no retained physical backup it removes nothing ("no physical backup yet").
WalExpirePlan PlanWalExpire(const std::vector<StoredWal>& files, const std::vector<BackupWal>& retained,
                            uint64_t segment_size);

// ---- Commands PostgreSQL runs ----

struct CommandOptions {
  std::string binary;    // absolute path of pgkeeper
  std::string repo_url;  // must not carry secrets (S3 credentials come from the environment)
  std::string key_file;  // absolute; "" for an unencrypted repository
  std::string config;    // absolute path of a pgkeeper.toml to pass with --config; "" for none
  bool async = false;
  std::string spool;  // async spool directory
};
// archive_command: '<binary>' wal-push %p --repo '<url>' [...]; shell-quoted.
std::string ArchiveCommand(const CommandOptions& options);
// restore_command: '<binary>' wal-fetch %f %p --repo '<url>' [...]; shell-quoted.
std::string RestoreCommand(const CommandOptions& options);

}  // namespace pgk::wal
