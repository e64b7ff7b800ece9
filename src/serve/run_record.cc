#include "serve/run_record.h"

#include <ctime>

#include "common/utc_time.h"
#include "repo/manifest.h"

namespace pgk::serve {

std::string CompactTime(int64_t epoch_s) { return FormatUtc(epoch_s, kCompactUtc); }

std::string IsoTime(double epoch_s) { return repo::Iso8601(static_cast<int64_t>(epoch_s)); }

std::string RunPrefix(const std::string& job) { return "serve/runs/" + job + "/"; }

nlohmann::json RunRecord::ToJson() const {
  nlohmann::json j = {{"format", kRunRecordFormat},
                      {"job", job},
                      {"command", command},
                      {"args", args},
                      {"scheduled", IsoTime(static_cast<double>(scheduled))},
                      {"missed", missed},
                      {"start", IsoTime(start)},
                      {"end", IsoTime(end)},
                      {"start_epoch", start},
                      {"end_epoch", end},
                      {"duration_seconds", duration()},
                      {"exit_code", exit_code},
                      {"ok", ok},
                      {"interrupted", interrupted},
                      {"error", error},
                      {"backup_id", backup_id},
                      {"host", host},
                      {"failures_total", failures_total},
                      {"consecutive_failures", consecutive_failures},
                      {"last_success", last_success ? nlohmann::json(*last_success) : nlohmann::json(nullptr)}};
  return j;
}

Result<RunRecord> RunRecord::FromJson(const nlohmann::json& j) {
  try {
    if (j.value("format", 0) != kRunRecordFormat) {
      return Status::Malformed("run record format " + std::to_string(j.value("format", 0)) + " is not supported",
                               "use a newer pgkeeper");
    }
    RunRecord r;
    r.job = j.at("job").get<std::string>();
    r.command = j.at("command").get<std::string>();
    r.args = j.value("args", std::vector<std::string>{});
    PGK_ASSIGN_OR_RETURN(r.scheduled, repo::ParseIso8601(j.at("scheduled").get<std::string>()));
    r.missed = j.value("missed", false);
    r.start = j.at("start_epoch").get<double>();
    r.end = j.at("end_epoch").get<double>();
    r.exit_code = j.at("exit_code").get<int>();
    r.ok = j.at("ok").get<bool>();
    r.interrupted = j.value("interrupted", false);
    r.error = j.value("error", "");
    r.backup_id = j.value("backup_id", "");
    r.host = j.value("host", "");
    r.failures_total = j.value("failures_total", int64_t{0});
    r.consecutive_failures = j.value("consecutive_failures", int64_t{0});
    if (j.contains("last_success") && j["last_success"].is_number()) r.last_success = j["last_success"].get<double>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Status::Malformed(std::string("malformed run record: ") + e.what());
  }
}

Result<std::string> StoreRunRecord(storage::Storage& storage, const RunRecord& r, int keep) {
  std::string base = RunPrefix(r.job) + CompactTime(static_cast<int64_t>(r.start));
  std::string path = base + ".json";
  // Two runs of one job in the same second (a catch-up run, then its schedule) must not
  // overwrite each other; the suffix keeps the listing in time order.
  for (int n = 2;; ++n) {
    PGK_ASSIGN_OR_RETURN(bool taken, storage.Exists(path));
    if (!taken) break;
    path = base + "_" + std::to_string(n) + ".json";  // '_' sorts after '.'
  }
  PGK_RETURN_IF_ERROR(storage.Put(path, r.ToJson().dump(2) + "\n", {.atomic = true, .sync = true}));
  PGK_ASSIGN_OR_RETURN(auto files, storage.List(RunPrefix(r.job)));
  std::vector<std::string> records;
  for (const auto& f : files)
    if (f.path.size() > 5 && f.path.compare(f.path.size() - 5, 5, ".json") == 0) records.push_back(f.path);
  // List is sorted by path, and the names sort by start time: the oldest come first.
  for (size_t i = 0; i + static_cast<size_t>(keep) < records.size(); ++i) {
    PGK_RETURN_IF_ERROR(storage.Remove(records[i]));
  }
  return path;
}

Result<std::map<std::string, RunRecord>> LatestRunRecords(storage::Storage& storage,
                                                          const std::vector<std::string>& jobs,
                                                          std::vector<std::string>* problems) {
  std::map<std::string, RunRecord> out;
  for (const auto& job : jobs) {
    PGK_ASSIGN_OR_RETURN(auto files, storage.List(RunPrefix(job)));
    // Newest first; a damaged record falls back to the one before it.
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
      if (it->path.size() < 5 || it->path.compare(it->path.size() - 5, 5, ".json") != 0) continue;
      auto text = storage.Get(it->path);
      if (!text.ok()) {
        if (problems) problems->push_back(it->path + ": " + text.status().message());
        continue;
      }
      nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
      auto rec = RunRecord::FromJson(j);
      if (!rec.ok()) {
        if (problems) problems->push_back(it->path + ": " + rec.status().message());
        continue;
      }
      out[job] = std::move(rec).value();
      break;
    }
  }
  return out;
}

}  // namespace pgk::serve
