#include "repo/manifest.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace pgk::repo {

using nlohmann::json;

uint64_t Manifest::original_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.original_size;
  return n;
}

uint64_t Manifest::stored_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.stored_size;
  return n;
}

static json FileJson(const ManifestFile& f) {
  json j = {{"name", f.name},
            {"kind", f.kind},
            {"original_size", f.original_size},
            {"original_sha256", f.original_sha256},
            {"stored_size", f.stored_size},
            {"stored_sha256", f.stored_sha256},
            {"compression", f.compression},
            {"cipher", f.cipher}};
  if (!f.table.empty()) j["table"] = f.table;
  if (f.rows >= 0) j["rows"] = f.rows;
  return j;
}

std::string SerializeManifest(const Manifest& m) {
  json files = json::array();
  for (const auto& f : m.files) files.push_back(FileJson(f));
  json j = {{"format", m.format},
            {"id", m.id},
            {"type", m.type},
            {"database", m.database},
            {"server_version", m.server_version},
            {"start_time", m.start_time},
            {"stop_time", m.stop_time},
            {"duration_seconds", m.duration_s},
            {"row_counts", m.row_counts},
            {"tag", m.tag},
            {"pgkeeper_version", m.pgkeeper_version},
            {"compression", m.compression},
            {"compression_level", m.compression_level},
            {"cipher", m.cipher},
            {"options", m.options},
            {"files", files},
            {"original_bytes", m.original_bytes()},
            {"stored_bytes", m.stored_bytes()}};
  j["migration_version"] = m.migration_version ? json(*m.migration_version) : json(nullptr);
  if (!m.wrapped_data_key.empty()) j["wrapped_data_key"] = m.wrapped_data_key;
  return j.dump(2) + "\n";
}

Result<Manifest> ParseManifest(const std::string& text, const std::string& origin) {
  Manifest m;
  try {
    json j = json::parse(text);
    if (!j.is_object() || !j.contains("format")) return Status::Malformed(origin + " is not a backup manifest");
    m.format = j.at("format").get<int>();
    if (m.format != kManifestFormat) {
      return Status::Malformed(origin + " has manifest format " + std::to_string(m.format) + "; this pgkeeper reads " +
                                   std::to_string(kManifestFormat),
                               "use a newer pgkeeper to read this repository");
    }
    m.id = j.at("id").get<std::string>();
    m.type = j.at("type").get<std::string>();
    m.database = j.value("database", "");
    m.server_version = j.value("server_version", "");
    m.start_time = j.at("start_time").get<std::string>();
    m.stop_time = j.at("stop_time").get<std::string>();
    m.duration_s = j.value("duration_seconds", 0.0);
    if (j.contains("migration_version") && !j["migration_version"].is_null()) {
      m.migration_version = j["migration_version"].get<uint64_t>();
    }
    m.row_counts = j.value("row_counts", std::map<std::string, int64_t>{});
    m.tag = j.value("tag", "");
    m.pgkeeper_version = j.value("pgkeeper_version", "");
    m.compression = j.value("compression", "none");
    m.compression_level = j.value("compression_level", 0);
    m.cipher = j.value("cipher", "none");
    m.wrapped_data_key = j.value("wrapped_data_key", "");
    m.options = j.value("options", std::vector<std::string>{});
    for (const auto& fj : j.at("files")) {
      ManifestFile f;
      f.name = fj.at("name").get<std::string>();
      f.kind = fj.at("kind").get<std::string>();
      f.table = fj.value("table", "");
      f.rows = fj.value("rows", static_cast<int64_t>(-1));
      f.original_size = fj.at("original_size").get<uint64_t>();
      f.original_sha256 = fj.at("original_sha256").get<std::string>();
      f.stored_size = fj.at("stored_size").get<uint64_t>();
      f.stored_sha256 = fj.at("stored_sha256").get<std::string>();
      f.compression = fj.at("compression").get<std::string>();
      f.cipher = fj.at("cipher").get<std::string>();
      if (f.name.empty() || f.name.find("..") != std::string::npos || f.name[0] == '/') {
        return Status::Malformed(origin + " names an invalid file path '" + f.name + "'");
      }
      m.files.push_back(std::move(f));
    }
  } catch (const json::exception& e) {
    return Status::Malformed(origin + " is not a valid backup manifest: " + e.what(),
                             "the backup is damaged; `pgkeeper verify` lists what is wrong");
  }
  return m;
}

std::string Iso8601(int64_t epoch_s) {
  time_t t = static_cast<time_t>(epoch_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<int64_t> ParseIso8601(const std::string& text) {
  struct tm tm {};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return Status::Malformed("not an ISO 8601 UTC time: '" + text + "'");
  return static_cast<int64_t>(timegm(&tm));
}

std::string BackupId(int64_t epoch_s, const std::string& type) {
  time_t t = static_cast<time_t>(epoch_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  std::string letter = type == "globals" ? "G" : type == "cluster" ? "C" : "L";
  return std::string(buf) + "-" + letter;
}

std::string BackupDir(const std::string& id) { return "backups/" + id + "/"; }
std::string ManifestPath(const std::string& id) { return BackupDir(id) + "manifest.json"; }

}  // namespace pgk::repo
