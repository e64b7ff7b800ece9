#include "cli/wal_maintenance.h"

#include <optional>

namespace pgk::cli {

namespace {

std::string RangeText(const wal::SegmentRange& r, uint64_t seg) {
  std::string first = wal::SegmentFileName(r.timeline, r.first, seg);
  return r.first == r.last ? first : first + " .. " + wal::SegmentFileName(r.timeline, r.last, seg);
}

// The end of the contiguous run on `timeline` that holds `segno`, if any.
std::optional<uint64_t> RunEnd(const wal::ArchiveSummary& sum, uint32_t timeline, uint64_t segno) {
  for (const auto& r : sum.runs) {
    if (r.timeline == timeline && r.first <= segno && segno <= r.last) return r.last;
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<repo::Repository>> OpenWalRepository(const Context& ctx, const std::string& repo_flag,
                                                            const std::string& key_file_flag, bool create,
                                                            bool metadata_only) {
  std::string url = !repo_flag.empty() ? repo_flag : ctx.config.GetString("repository.url").value_or("");
  if (url.empty()) {
    return Status::InvalidArgument("no repository given",
                                   "pass --repo PATH|file:///PATH|s3://bucket/prefix or set repository.url");
  }
  std::string key_file =
      !key_file_flag.empty() ? key_file_flag : ctx.config.GetString("repository.key_file").value_or("");
  return repo::Repository::Open({.url = url, .key_file = key_file, .create = create, .metadata_only = metadata_only});
}

Result<wal::PushOptions> WalPushOptions(const Context& ctx, const std::string& compression_flag, int level_flag) {
  wal::PushOptions o;
  std::string c =
      !compression_flag.empty() ? compression_flag : ctx.config.GetString("wal.compression").value_or("zstd");
  PGK_ASSIGN_OR_RETURN(o.compression, pipeline::ParseCompression(c));
  o.compression_level =
      level_flag != -1000 ? level_flag : static_cast<int>(ctx.config.GetInt("wal.compression_level").value_or(1));
  return o;
}

std::vector<wal::BackupWal> PhysicalBackupsWal(const std::vector<repo::Manifest>& manifests) {
  std::vector<wal::BackupWal> out;
  for (const auto& m : manifests) {
    if (!m.physical) continue;
    auto start = wal::ParseLsn(m.physical->start_lsn);
    auto stop = wal::ParseLsn(m.physical->stop_lsn);
    if (!start.ok() || !stop.ok()) continue;
    out.push_back({.backup_id = m.id, .timeline = m.physical->timeline, .start_lsn = *start, .stop_lsn = *stop});
  }
  return out;
}

int VerifyWalArchive(Context& ctx, repo::Repository& repo, int jobs) {
  const Output& out = ctx.out;
  auto archive = wal::Archive::Open(repo);
  if (!archive.ok()) return ctx.Fail(archive.status());
  std::vector<std::string> debris;
  auto files = (*archive)->List(&debris);
  if (!files.ok()) return ctx.Fail(files.status());
  uint64_t seg = (*archive)->segment_size();

  std::vector<Status> results = (*archive)->VerifyAll(*files, jobs);
  nlohmann::json bad = nlohmann::json::array();
  for (size_t i = 0; i < files->size(); ++i) {
    if (results[i].ok()) continue;
    bad.push_back({{"file", (*files)[i].file.name}, {"path", (*files)[i].path}, {"error", results[i].message()}});
    out.Line(out.Red("bad: ") + (*files)[i].file.name + ": " + results[i].message());
  }

  auto sum = wal::Summarize(*files);
  nlohmann::json runs = nlohmann::json::array(), gaps = nlohmann::json::array();
  for (const auto& r : sum.runs) {
    runs.push_back({{"timeline", r.timeline},
                    {"from", wal::SegmentFileName(r.timeline, r.first, seg)},
                    {"to", wal::SegmentFileName(r.timeline, r.last, seg)}});
    out.Line("timeline " + std::to_string(r.timeline) + ": " + RangeText(r, seg) + " (" +
             std::to_string(r.last - r.first + 1) + " segments)");
  }
  for (const auto& g : sum.gaps) {
    gaps.push_back({{"timeline", g.timeline},
                    {"from", wal::SegmentFileName(g.timeline, g.first, seg)},
                    {"to", wal::SegmentFileName(g.timeline, g.last, seg)}});
    out.Line(out.Red("gap: ") + "timeline " + std::to_string(g.timeline) + ": " + RangeText(g, seg) + " missing");
  }
  for (const auto& d : debris) out.Line(out.Yellow("debris: ") + d);

  // Each physical backup: is its WAL complete, and how far forward can it be recovered.
  nlohmann::json backups = nlohmann::json::array();
  size_t incomplete = 0;
  auto manifests = repo.ListBackups();
  if (manifests.ok()) {
    for (const auto& b : PhysicalBackupsWal(*manifests)) {
      auto missing = wal::MissingSegments(*files, b.timeline, b.start_lsn, b.stop_lsn, seg);
      auto end = RunEnd(sum, b.timeline, wal::SegmentBefore(b.stop_lsn, seg));
      nlohmann::json j = {{"id", b.backup_id}, {"missing", missing}};
      if (!missing.empty()) {
        ++incomplete;
        out.Line(out.Red("unrestorable: ") + b.backup_id + ": WAL " + missing.front() +
                 (missing.size() > 1 ? " and " + std::to_string(missing.size() - 1) + " more" : "") + " missing");
      } else if (end) {
        std::string until = wal::FormatLsn(wal::SegmentStartLsn(*end + 1, seg));
        j["recoverable_from"] = wal::FormatLsn(b.stop_lsn);
        j["recoverable_to"] = until;
        out.Line(b.backup_id + ": recoverable from " + wal::FormatLsn(b.stop_lsn) + " to " + until + " on timeline " +
                 std::to_string(b.timeline));
      }
      backups.push_back(j);
    }
  }
  size_t problems = bad.size() + sum.gaps.size() + incomplete;
  out.Line(std::to_string(files->size()) + " WAL files verified: " +
           (problems == 0 ? out.Green("all good")
                          : out.Red(std::to_string(bad.size()) + " corrupted, " + std::to_string(sum.gaps.size()) +
                                    " gap(s), " + std::to_string(incomplete) + " backup(s) missing WAL")));
  if (out.json()) {
    out.Json({{"wal",
               {{"files", files->size()},
                {"failed", bad},
                {"runs", runs},
                {"gaps", gaps},
                {"debris", debris},
                {"backups", backups}}},
              {"ok", problems == 0}});
  }
  return problems == 0 ? 0 : 1;
}

Status ExpireWal(const Context& ctx, repo::Repository& repo, const std::vector<repo::Manifest>& retained,
                 const std::vector<std::string>& damaged, bool dry_run, nlohmann::json* doc) {
  auto archive = wal::Archive::Open(repo);
  if (!archive.ok()) {
    if (archive.status().code() == Code::kNotFound) return Status::Ok();
    return archive.status();
  }
  PGK_ASSIGN_OR_RETURN(auto files, (*archive)->List());
  auto plan = wal::PlanWalExpire(files, PhysicalBackupsWal(retained), (*archive)->segment_size());
  if (!damaged.empty()) {
    plan = wal::WalExpirePlan{.keep = files.size(), .reason = "damaged manifests (see above): keeping all WAL"};
  }
  uint64_t bytes = 0;
  for (const auto& f : plan.remove) {
    bytes += f.stored_size;
    if (!dry_run) PGK_RETURN_IF_ERROR((*archive)->Remove(f));
  }
  const Output& out = ctx.out;
  out.Line("WAL: " + plan.reason + "; " + (dry_run ? "would remove " : "removed ") +
           std::to_string(plan.remove.size()) + " file(s) (" + FormatBytes(static_cast<int64_t>(bytes)) + "), kept " +
           std::to_string(plan.keep));
  (*doc) = {{"reason", plan.reason}, {"removed", plan.remove.size()}, {"removed_bytes", bytes}, {"kept", plan.keep}};
  return Status::Ok();
}

}  // namespace pgk::cli
