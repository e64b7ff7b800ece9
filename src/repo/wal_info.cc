#include "repo/wal_info.h"

#include <nlohmann/json.hpp>

namespace pgk::repo {

using nlohmann::json;

std::string SerializeWalArchiveInfo(const WalArchiveInfo& info) {
  json j = {{"format", info.format},
            {"system_identifier", info.system_identifier},
            {"wal_segment_size", info.wal_segment_size},
            {"pg_control_version", info.pg_control_version},
            {"wal_page_magic", info.wal_page_magic},
            {"created", info.created},
            {"compression", info.compression},
            {"cipher", info.cipher}};
  if (!info.wrapped_data_key.empty()) j["wrapped_data_key"] = info.wrapped_data_key;
  if (!info.key_id.empty()) j["key_id"] = info.key_id;
  if (!info.rekey_wrapped_data_key.empty()) j["rekey_wrapped_data_key"] = info.rekey_wrapped_data_key;
  if (!info.rekey_key_id.empty()) j["rekey_key_id"] = info.rekey_key_id;
  return j.dump(2) + "\n";
}

Result<WalArchiveInfo> ParseWalArchiveInfo(const std::string& text, const std::string& origin) {
  WalArchiveInfo info;
  try {
    json j = json::parse(text);
    if (!j.is_object() || !j.contains("format")) return Status::Malformed(origin + " is not a WAL archive info file");
    info.format = j.at("format").get<int>();
    if (info.format != kWalArchiveFormat) {
      return Status::Malformed(origin + " has WAL archive format " + std::to_string(info.format) +
                                   "; this pgkeeper reads " + std::to_string(kWalArchiveFormat),
                               "use a newer pgkeeper to read this archive");
    }
    info.system_identifier = j.at("system_identifier").get<std::string>();
    info.wal_segment_size = j.at("wal_segment_size").get<uint64_t>();
    info.pg_control_version = j.value("pg_control_version", 0u);
    info.wal_page_magic = j.value("wal_page_magic", 0u);
    info.created = j.value("created", "");
    info.compression = j.value("compression", "zstd");
    info.cipher = j.value("cipher", "none");
    info.wrapped_data_key = j.value("wrapped_data_key", "");
    info.key_id = j.value("key_id", "");
    info.rekey_wrapped_data_key = j.value("rekey_wrapped_data_key", "");
    info.rekey_key_id = j.value("rekey_key_id", "");
  } catch (const std::exception& e) {
    return Status::Malformed(origin + " is damaged: " + e.what(), "restore it from a copy, or start a new repository");
  }
  if (info.system_identifier.empty() || info.wal_segment_size == 0) {
    return Status::Malformed(origin + " is damaged: no system identifier or segment size");
  }
  return info;
}

}  // namespace pgk::repo
