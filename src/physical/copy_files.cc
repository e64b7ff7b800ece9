#include "physical/copy_files.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "common/interrupt.h"
#include "common/parallel.h"
#include "physical/incremental.h"

namespace pgk::physical {

namespace {

constexpr uint64_t kBigFile = 64ull << 20;

std::string Megabytes(uint64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MB"; }

class Copier {
 public:
  Copier(const CopyPlan& plan, CopyTotals* totals) : plan_(plan), totals_(totals) {
    if (plan.prior) {
      for (const auto& f : plan.prior->files) prior_files_[f.name] = &f;
    }
  }

  // nullopt: the file vanished.
  Result<std::optional<repo::ManifestFile>> One(const PgdataEntry& e) {
    std::string name = StoredName(e.path);
    const repo::ManifestFile* prior = nullptr;
    if (auto it = prior_files_.find(name); it != prior_files_.end()) prior = it->second;
    Reuse reuse = prior ? DecideReuse(*prior, plan_.prior_start_us, e.size, e.mtime_ns) : Reuse::kCopy;
    if (reuse == Reuse::kReference) return Referenced(*prior, e);
    PGK_ASSIGN_OR_RETURN(auto source, SourceFile::Open(plan_.pgdata + "/" + e.path));
    if (!source) {
      ++totals_->vanished;
      return std::optional<repo::ManifestFile>();
    }
    if (reuse == Reuse::kCompare) {
      PGK_ASSIGN_OR_RETURN(auto digest, source->Hash());
      if (digest.first == prior->original_sha256 && digest.second == prior->original_size) return Referenced(*prior, e);
    }
    backup::FileSpec spec = plan_.base;
    spec.name = name;
    spec.kind = "pgdata";
    // A big file is often the long pole (a table's 1 GB segment): let zstd use the cores
    // that the other workers leave idle once the small files are done.
    if (e.size >= kBigFile && plan_.compression_threads > 0) spec.compression_threads = plan_.compression_threads;
    PageCheck check = plan_.check;
    check.enabled = check.enabled && e.page_checked;
    check.segment_no = e.segment_no;
    CopyResult copied;
    repo::ManifestFile entry;
    PGK_RETURN_IF_ERROR(backup::WriteBackupFile(
        *plan_.repository, spec, [&](pipeline::Sink& sink) { return source->CopyTo(sink, check, &copied); }, &entry));
    entry.mode = e.mode;
    entry.mtime_ns = e.mtime_ns;
    entry.page_errors = std::move(copied.page_errors);
    ++totals_->copied;
    totals_->bytes_copied += entry.original_size;
    if (entry.original_size >= (8u << 20))
      plan_.progress("copied " + e.path + " (" + Megabytes(entry.original_size) + ")");
    return std::optional<repo::ManifestFile>(std::move(entry));
  }

 private:
  std::optional<repo::ManifestFile> Referenced(const repo::ManifestFile& prior, const PgdataEntry& e) {
    repo::ManifestFile entry = prior;
    entry.reference = StoredIn(*plan_.prior, prior);
    entry.mode = e.mode;
    entry.mtime_ns = e.mtime_ns;
    ++totals_->referenced;
    totals_->bytes_referenced += entry.original_size;
    return entry;
  }

  const CopyPlan& plan_;
  CopyTotals* totals_;
  std::map<std::string, const repo::ManifestFile*> prior_files_;
};

}  // namespace

std::string StoredName(const std::string& pgdata_path) { return "pgdata/" + pgdata_path; }

Result<std::vector<repo::ManifestFile>> CopyFiles(const CopyPlan& plan, std::vector<const PgdataEntry*> files,
                                                  CopyTotals* totals) {
  std::stable_sort(files.begin(), files.end(),
                   [](const PgdataEntry* a, const PgdataEntry* b) { return a->size > b->size; });
  Copier copier(plan, totals);
  std::mutex mu;
  std::vector<repo::ManifestFile> out;
  PGK_RETURN_IF_ERROR(ParallelForEach(
      files.size(), plan.jobs,
      [&](int, size_t i) -> Status {
        PGK_ASSIGN_OR_RETURN(auto entry, copier.One(*files[i]));
        if (!entry) return Status::Ok();  // vanished since the listing
        std::lock_guard<std::mutex> lock(mu);
        out.push_back(std::move(*entry));
        return Status::Ok();
      },
      [] { return Interrupted(); }));
  if (Interrupted()) return Status::Interrupted("the backup was interrupted");
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace pgk::physical
