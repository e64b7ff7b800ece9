// `pgkeeper wal-push %p` (archive_command) and `pgkeeper wal-fetch %f %p`
// (restore_command). They run once per WAL segment on the server's behalf, so they stay
// quiet on success (their output lands in the server log) and do as little as possible
// before the work itself.
#include <unistd.h>

#include <climits>
#include <memory>

#include "cli/commands.h"
#include "cli/wal_maintenance.h"
#include "common/log.h"
#include "common/process.h"
#include "storage/storage.h"
#include "wal/archive.h"
#include "wal/control.h"
#include "wal/spool.h"

namespace pgk::cli {

namespace {

// restore_command: PostgreSQL treats exit codes up to 125 as "no such file" and, in
// archive recovery, ends recovery there and promotes. A file that exists but cannot be
// delivered (corrupted, wrong key, repository unreachable) must stop recovery instead,
// which PostgreSQL does for codes above 125.
constexpr int kFetchFatalExit = 255;

struct WalArgs {
  std::string path;  // wal-push: %p; wal-fetch: %f
  std::string dest;  // wal-fetch: %p
  std::string repo;
  std::string key_file;
  std::string pgdata;
  std::string compression;
  int level = -1000;
  bool async = false;
  bool async_off = false;
  std::string spool;
  int jobs = 0;
  int prefetch = -1;
  int batch = 64;
  bool prefetch_worker = false;
};

std::string SpoolDir(const Context& ctx, const WalArgs& a) {
  return !a.spool.empty() ? a.spool : ctx.config.GetString("wal.spool").value_or("");
}

bool AsyncMode(const Context& ctx, const WalArgs& a) {
  if (a.async_off) return false;
  return a.async || ctx.config.GetBool("wal.async").value_or(false);
}

int Jobs(const Context& ctx, const WalArgs& a) {
  return a.jobs > 0 ? a.jobs : static_cast<int>(ctx.config.GetInt("wal.jobs").value_or(2));
}

Status NeedSpool() {
  return Status::InvalidArgument("--async needs a spool directory",
                                 "pass --spool DIR (a local directory the server's user owns) or set wal.spool");
}

// Which cluster the file comes from: pg_control in PGDATA (the working directory of
// archive_command), and a segment's own page header.
Result<wal::ClusterIdentity> Identify(const WalArgs& a, const wal::WalFile& file) {
  std::filesystem::path path(a.path);
  wal::ClusterIdentity id;
  auto control = wal::ReadControlFile(a.pgdata.empty() ? std::filesystem::path(".") : std::filesystem::path(a.pgdata));
  if (!control.ok() && control.status().code() != Code::kNotFound) return control.status();
  bool is_segment = file.kind == wal::WalFileKind::kSegment || file.kind == wal::WalFileKind::kPartial;
  Result<wal::SegmentHeader> header = Status::NotFound("");
  if (is_segment) {
    std::string first(wal::kSegmentHeaderSize, '\0');
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return Status::NotFound("no WAL file " + path.string(), "archive_command must pass %p");
    first.resize(std::fread(first.data(), 1, first.size(), f));
    std::fclose(f);
    header = wal::ParseSegmentHeader(first, path.string());
    if (!header.ok()) return header.status();
  } else {
    header = wal::AnySegmentHeader(path.parent_path().empty() ? "." : path.parent_path());
  }
  if (control.ok()) {
    id = *control;
    if (header.ok() && is_segment && header->system_identifier != id.system_identifier) {
      return Status::Refused(path.string() + " was written by the cluster " +
                             std::to_string(header->system_identifier) + ", not by the one in this data directory (" +
                             std::to_string(id.system_identifier) + ")");
    }
  } else if (header.ok() && is_segment) {
    id.system_identifier = header->system_identifier;
  } else {
    return Status::InvalidArgument(
        "cannot tell which cluster " + path.string() + " belongs to: no global/pg_control here",
        "run wal-push from the data directory (as archive_command does) or pass --pgdata");
  }
  if (header.ok()) {
    id.wal_segment_size = header->segment_size;
    id.wal_page_magic = header->magic;
  }
  return id;
}

int RunPush(Context& ctx, const WalArgs& a) {
  std::filesystem::path path(a.path);
  std::string wal_name = path.filename().string();
  // The archive's segment size is not known before it is opened. The smallest size allows
  // every "seg" part any size does; Push checks the name again with the archive's.
  auto file = wal::ParseWalFileName(wal_name, uint64_t{1} << 20);
  if (!file.ok()) return ctx.Fail(file.status());
  std::filesystem::path wal_dir = path.parent_path().empty() ? "." : path.parent_path();
  std::string spool = SpoolDir(ctx, a);
  bool async = AsyncMode(ctx, a);
  if (async && spool.empty()) return ctx.Fail(NeedSpool());
  if (async) {
    // The fast path: a file pushed ahead by an earlier call costs no repository access.
    std::string url = !a.repo.empty() ? a.repo : ctx.config.GetString("repository.url").value_or("");
    auto storage = storage::OpenStorage(url);  // no I/O: only the URL's canonical form
    if (storage.ok() && wal::AcknowledgedInSpool(spool, (*storage)->Url(), wal_dir, wal_name)) {
      log::Debug("{}: acknowledged by the spool", wal_name);
      return 0;
    }
  }
  auto id = Identify(a, *file);
  if (!id.ok()) return ctx.Fail(id.status());
  auto options = WalPushOptions(ctx, a.compression, a.level);
  if (!options.ok()) return ctx.Fail(options.status());
  auto repository = OpenWalRepository(ctx, a.repo, a.key_file, true);
  if (!repository.ok()) return ctx.Fail(repository.status());
  auto archive = wal::Archive::OpenForPush(**repository, *id, *options);
  if (!archive.ok()) return ctx.Fail(archive.status());
  if (async) {
    wal::AsyncPushOptions ao{.spool = spool,
                             .wal_dir = wal_dir,
                             .jobs = Jobs(ctx, a),
                             .max_batch = static_cast<size_t>(a.batch),
                             .push = *options};
    auto r = wal::PushAsync(**archive, wal_name, ao);
    if (!r.ok()) return ctx.Fail(r.status().WithContext("archiving " + wal_name));
    for (const auto& [name, s] : r->failed) log::Warn("could not archive {} ahead: {}", name, s.message());
    log::Debug("{}: {}", wal_name,
               r->acknowledged ? std::string("acknowledged by the spool")
                               : fmt::format("pushed {} file(s), {} already archived", r->pushed, r->already));
    return 0;
  }
  auto r = (*archive)->Push(path, wal_name, *options);
  if (!r.ok()) return ctx.Fail(r.status().WithContext("archiving " + wal_name));
  log::Debug("{}: {} ({} -> {} bytes)", wal_name, r->already_archived ? "already archived" : "archived",
             r->original_size, r->stored.stored_size);
  return 0;
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "pgkeeper";
}

// The prefetch worker runs detached, so that this call returns as soon as its own file
// is in place while the next segments arrive in the background.
void StartPrefetchWorker(const Context& ctx, const WalArgs& a, const std::string& spool, int count) {
  std::vector<std::string> argv = {
      SelfExe(),    "wal-fetch",           a.path,   "--prefetch-worker",         "--spool", spool,
      "--prefetch", std::to_string(count), "--jobs", std::to_string(Jobs(ctx, a))};
  if (!a.repo.empty()) argv.insert(argv.end(), {"--repo", a.repo});
  if (!a.key_file.empty()) argv.insert(argv.end(), {"--key-file", a.key_file});
  if (!ctx.options.config_path.empty()) argv.insert(argv.end(), {"--config", ctx.options.config_path});
  auto p = Process::Spawn({.argv = argv, .new_session = true});
  if (p.ok()) {
    p->Detach();
  } else {
    log::Warn("cannot start the WAL prefetch worker: {}", p.status().message());
  }
}

int RunFetch(Context& ctx, const WalArgs& a) {
  auto fatal = [&](const Status& s) {
    ctx.Fail(s);
    return kFetchFatalExit;
  };
  auto repository = OpenWalRepository(ctx, a.repo, a.key_file, false);
  if (!repository.ok()) return fatal(repository.status());
  auto archive = wal::Archive::Open(**repository);
  if (!archive.ok()) {
    if (archive.status().code() != Code::kNotFound) return fatal(archive.status());
    log::Warn("{}", archive.status().message());
    return 1;
  }
  int count = a.prefetch >= 0 ? a.prefetch : static_cast<int>(ctx.config.GetInt("wal.prefetch").value_or(8));
  std::string spool = SpoolDir(ctx, a);
  if (a.prefetch_worker) {
    Status s = wal::Prefetch(**archive, a.path, {.spool = spool, .count = count, .jobs = Jobs(ctx, a)});
    if (!s.ok()) log::Warn("prefetching after {}: {}", a.path, s.message());
    return 0;
  }
  if (a.dest.empty()) return ctx.Fail(Status::InvalidArgument("wal-fetch needs the destination path (%p)"));
  Status s;
  if (AsyncMode(ctx, a) && count > 0) {
    if (spool.empty()) return fatal(NeedSpool());
    bool from_spool = false;
    s = wal::FetchWithSpool(**archive, a.path, a.dest, {.spool = spool, .count = count, .jobs = Jobs(ctx, a)},
                            &from_spool);
    if (s.ok() && a.path.size() == 24 && !wal::PrefetchRunning(**archive, spool)) {
      StartPrefetchWorker(ctx, a, spool, count);
    }
  } else {
    s = (*archive)->Fetch(a.path, a.dest);
  }
  if (s.ok()) return 0;
  // Recovery asks for files that do not exist (the next timeline's history, the segment
  // after the last one): not an error worth a line in the server log.
  if (s.code() == Code::kNotFound) {
    log::Debug("{}", s.message());
    return 1;
  }
  return fatal(s.WithContext("restoring " + a.path));
}

void AddRepoOptions(CLI::App* cmd, WalArgs* a) {
  cmd->add_option("--repo", a->repo,
                  "Repository: an absolute path, file:///path or s3://bucket/prefix (default repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (PGKEEPER_ENCRYPTION_KEY wins when set)");
  cmd->add_flag("--async", a->async,
                "Use the spool: push the backlog in parallel / prefetch ahead (default wal.async)");
  cmd->add_flag("--no-async", a->async_off, "Do not use the spool even if wal.async is set");
  cmd->add_option("--spool", a->spool, "Spool directory for --async (default wal.spool)");
  cmd->add_option("-j,--jobs", a->jobs, "Files transferred in parallel in async mode (default wal.jobs, or 2)")
      ->check(CLI::Range(1, 64));
}

}  // namespace

void SetupWalPush(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<WalArgs>();
  cmd->add_option("WAL_PATH", a->path, "The WAL file to archive (%p in archive_command)")->required();
  AddRepoOptions(cmd, a.get());
  cmd->add_option("--pgdata", a->pgdata, "Data directory (default: the working directory, as for archive_command)");
  cmd->add_option("--compression", a->compression, "zstd (default), lz4 or none (default wal.compression)")
      ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  cmd->add_option("--level", a->level, "Compression level (default wal.compression_level, or 1)");
  cmd->add_option("--batch", a->batch, "Async: files pushed by one call at most (default 64)")
      ->check(CLI::Range(1, 4096));
  cmd->footer("Idempotent: a file already archived with the same contents succeeds; different contents are refused.");
  *handler = [a](Context& ctx) { return RunPush(ctx, *a); };
}

void SetupWalFetch(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<WalArgs>();
  cmd->add_option("WAL_NAME", a->path, "The WAL file PostgreSQL asks for (%f in restore_command)")->required();
  cmd->add_option("DEST", a->dest, "Where to write it (%p in restore_command)");
  AddRepoOptions(cmd, a.get());
  cmd->add_option("--prefetch", a->prefetch, "Async: segments fetched ahead (default wal.prefetch, or 8)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--prefetch-worker", a->prefetch_worker, "(internal) run the prefetch worker")->group("");
  cmd->footer(
      "Exit codes: 0 restored; 1 not in the archive; 255 the file exists but cannot be delivered "
      "(corrupted, wrong key, repository unreachable), which stops recovery instead of ending it early.");
  *handler = [a](Context& ctx) { return RunFetch(ctx, *a); };
}

}  // namespace pgk::cli
