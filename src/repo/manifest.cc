#include "repo/manifest.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/utc_time.h"
#include "repo/manifest_physical.h"

namespace pgk::repo {

using nlohmann::json;

uint64_t Manifest::original_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.original_size;
  return n;
}

uint64_t Manifest::stored_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files)
    if (f.reference.empty()) n += f.stored_size;
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
  if (!f.columns.empty()) j["columns"] = f.columns;
  AddPhysicalFileFields(f, &j);
  return j;
}

static json DatabaseJson(const ManifestDatabase& d) {
  json j = {{"name", d.name},
            {"dir", d.dir},
            {"start_time", d.start_time},
            {"stop_time", d.stop_time},
            {"migration_version", d.migration_version ? json(*d.migration_version) : json(nullptr)},
            {"row_counts", d.row_counts},
            {"options", d.options}};
  if (!d.properties.is_null()) j["properties"] = d.properties;
  return j;
}

// "db/<digits>": a database's files can only ever resolve inside its cluster backup.
static bool ValidDatabaseDir(const std::string& dir) {
  if (dir.size() < 4 || dir.compare(0, 3, "db/") != 0) return false;
  return dir.find_first_not_of("0123456789", 3) == std::string::npos;
}

static Result<ManifestDatabase> ParseDatabase(const json& dj, const std::string& origin) {
  ManifestDatabase d;
  d.name = dj.at("name").get<std::string>();
  d.dir = dj.at("dir").get<std::string>();
  if (!ValidDatabaseDir(d.dir))
    return Status::Malformed(origin + " names an invalid database directory '" + d.dir + "'");
  d.start_time = dj.value("start_time", "");
  d.stop_time = dj.value("stop_time", "");
  if (dj.contains("migration_version") && !dj["migration_version"].is_null()) {
    d.migration_version = dj["migration_version"].get<uint64_t>();
  }
  d.row_counts = dj.value("row_counts", std::map<std::string, int64_t>{});
  d.options = dj.value("options", std::vector<std::string>{});
  if (dj.contains("properties")) {
    if (!dj["properties"].is_object())
      return Status::Malformed(origin + ": database " + d.name + "'s properties are not an object");
    d.properties = dj["properties"];
  }
  return d;
}

Manifest DatabaseManifest(const Manifest& cluster, const ManifestDatabase& d) {
  Manifest m;
  m.id = cluster.id + "/" + d.dir;
  m.type = "logical";
  m.database = d.name;
  m.server_version = cluster.server_version;
  m.start_time = d.start_time;
  m.stop_time = d.stop_time;
  m.migration_version = d.migration_version;
  m.row_counts = d.row_counts;
  m.tag = cluster.tag;
  m.pgkeeper_version = cluster.pgkeeper_version;
  m.compression = cluster.compression;
  m.compression_level = cluster.compression_level;
  m.cipher = cluster.cipher;
  m.wrapped_data_key = cluster.wrapped_data_key;
  m.key_id = cluster.key_id;
  m.rekey_wrapped_data_key = cluster.rekey_wrapped_data_key;
  m.rekey_key_id = cluster.rekey_key_id;
  m.options = d.options;
  std::string prefix = d.dir + "/";
  for (const auto& f : cluster.files) {
    if (f.name.compare(0, prefix.size(), prefix) != 0) continue;
    ManifestFile member = f;
    member.name = f.name.substr(prefix.size());
    m.files.push_back(std::move(member));
  }
  return m;
}

std::string SerializeManifest(const Manifest& m) {
  json files = json::array();
  for (const auto& f : m.files) files.push_back(FileJson(f));
  json j = {{"format", m.physical ? kManifestFormatPhysical : kManifestFormat},
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
  if (!m.key_id.empty()) j["key_id"] = m.key_id;
  if (!m.rekey_wrapped_data_key.empty()) {
    j["rekey_wrapped_data_key"] = m.rekey_wrapped_data_key;
    j["rekey_key_id"] = m.rekey_key_id;
  }
  if (m.physical) j["physical"] = PhysicalInfoJson(*m.physical);
  if (!m.databases.empty()) {
    json databases = json::array();
    for (const auto& d : m.databases) databases.push_back(DatabaseJson(d));
    j["databases"] = databases;
  }
  return j.dump(2) + "\n";
}

Result<Manifest> ParseManifest(const std::string& text, const std::string& origin) {
  Manifest m;
  try {
    json j = json::parse(text);
    if (!j.is_object() || !j.contains("format")) return Status::Malformed(origin + " is not a backup manifest");
    m.format = j.at("format").get<int>();
    if (m.format != kManifestFormat && m.format != kManifestFormatPhysical) {
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
    m.key_id = j.value("key_id", "");
    m.rekey_wrapped_data_key = j.value("rekey_wrapped_data_key", "");
    m.rekey_key_id = j.value("rekey_key_id", "");
    m.options = j.value("options", std::vector<std::string>{});
    for (const auto& fj : j.at("files")) {
      ManifestFile f;
      f.name = fj.at("name").get<std::string>();
      f.kind = fj.at("kind").get<std::string>();
      f.table = fj.value("table", "");
      f.rows = fj.value("rows", static_cast<int64_t>(-1));
      f.columns = fj.value("columns", std::vector<std::string>{});
      f.original_size = fj.at("original_size").get<uint64_t>();
      f.original_sha256 = fj.at("original_sha256").get<std::string>();
      f.stored_size = fj.at("stored_size").get<uint64_t>();
      f.stored_sha256 = fj.at("stored_sha256").get<std::string>();
      f.compression = fj.at("compression").get<std::string>();
      f.cipher = fj.at("cipher").get<std::string>();
      if (f.name.empty() || f.name.find("..") != std::string::npos || f.name[0] == '/') {
        return Status::Malformed(origin + " names an invalid file path '" + f.name + "'");
      }
      ParsePhysicalFileFields(fj, &f);
      if (f.reference.find('/') != std::string::npos || f.reference.find("..") != std::string::npos) {
        return Status::Malformed(origin + " names an invalid reference '" + f.reference + "'");
      }
      m.files.push_back(std::move(f));
    }
    if (j.contains("physical")) m.physical = ParsePhysicalInfo(j.at("physical"));
    if (j.contains("databases")) {
      for (const auto& dj : j.at("databases")) {
        PGK_ASSIGN_OR_RETURN(ManifestDatabase d, ParseDatabase(dj, origin));
        for (const auto& other : m.databases) {
          if (other.dir == d.dir)
            return Status::Malformed(origin + " names the database directory '" + d.dir + "' twice");
        }
        m.databases.push_back(std::move(d));
      }
    }
  } catch (const json::exception& e) {
    return Status::Malformed(origin + " is not a valid backup manifest: " + e.what(),
                             "the backup is damaged; `pgkeeper verify` lists what is wrong");
  }
  return m;
}

std::string Iso8601(int64_t epoch_s) { return FormatUtc(epoch_s, kIsoUtc); }

Result<int64_t> ParseIso8601(const std::string& text) {
  struct tm tm {};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') return Status::Malformed("not an ISO 8601 UTC time: '" + text + "'");
  return static_cast<int64_t>(timegm(&tm));
}

std::string BackupId(int64_t epoch_s, const std::string& type) {
  std::string letter = type == "globals"   ? "G"
                       : type == "cluster" ? "C"
                       : type == "full"    ? "F"
                       : type == "diff"    ? "D"
                       : type == "incr"    ? "I"
                                           : "L";
  return FormatUtc(epoch_s, kCompactUtc) + "-" + letter;
}

std::string BackupDir(const std::string& id) { return "backups/" + id + "/"; }
std::string ManifestPath(const std::string& id) { return BackupDir(id) + "manifest.json"; }

bool IsManifestPath(std::string_view path) {
  constexpr std::string_view kDir = "backups/", kName = "/manifest.json";
  return path.size() > kDir.size() + kName.size() && path.starts_with(kDir) && path.ends_with(kName);
}

int64_t StartMicros(const Manifest& m) {
  if (m.physical && m.physical->start_us > 0) return m.physical->start_us;
  auto s = ParseIso8601(m.start_time);
  return s.ok() ? *s * 1000000 : 0;
}

}  // namespace pgk::repo
