#include "restore/verify.h"

#include <algorithm>

#include "common/parallel.h"
#include "pipeline/pipeline.h"

namespace pgk::restore {

std::vector<FileVerdict> VerifyFiles(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* data_key,
                                     const std::vector<const repo::ManifestFile*>& files, int jobs) {
  std::vector<FileVerdict> verdicts;
  if (files.empty()) {
    for (const auto& f : m.files) verdicts.push_back({&f, Status::Ok()});
  } else {
    for (const auto* f : files) verdicts.push_back({f, Status::Ok()});
  }
  std::vector<size_t> order(verdicts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return verdicts[a].file->stored_size > verdicts[b].file->stored_size; });
  ParallelFor(order.size(), jobs, [&](int, size_t item) {
    FileVerdict& v = verdicts[order[item]];
    auto reader = repo.OpenFile(m, *v.file, data_key);
    if (!reader.ok()) {
      v.status = reader.status().WithContext(repo::BackupDir(m.id) + v.file->name);
      return;
    }
    v.status = pipeline::Verify(**reader);
  });
  return verdicts;
}

Status FirstFailure(const std::vector<FileVerdict>& verdicts) {
  const Status* first = nullptr;
  size_t failed = 0;
  for (const auto& v : verdicts) {
    if (v.status.ok()) continue;
    if (!first) first = &v.status;
    ++failed;
  }
  if (!first) return Status::Ok();
  if (failed == 1) return *first;
  return first->WithHint(std::to_string(failed) + " of " + std::to_string(verdicts.size()) +
                         " files failed verification; `pgkeeper verify` lists them");
}

}  // namespace pgk::restore
