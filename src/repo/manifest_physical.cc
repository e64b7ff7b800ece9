#include "repo/manifest_physical.h"

#include <cstdio>
#include <cstdlib>

namespace pgk::repo {

using nlohmann::json;

namespace {

// Modes as octal text ("0600"): what people compare with `ls -l` and `stat`.
std::string ModeText(uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

// 0 ("not recorded": restore applies 0600/0700) for anything that is not octal.
uint32_t ParseMode(const json& j) {
  std::string text = j.get<std::string>();
  char* end = nullptr;
  unsigned long v = std::strtoul(text.c_str(), &end, 8);
  return text.empty() || *end != '\0' ? 0 : static_cast<uint32_t>(v) & 07777;
}

}  // namespace

json PhysicalInfoJson(const PhysicalInfo& p) {
  json paths = json::array();
  for (const auto& e : p.paths) {
    json pj = {{"path", e.path}, {"mode", ModeText(e.mode)}};
    if (e.link) pj["link"] = e.target;
    paths.push_back(pj);
  }
  return {{"mode", p.mode},
          {"reference", p.reference},
          {"system_identifier", p.system_identifier},
          {"pg_version_num", p.pg_version_num},
          {"timeline", p.timeline},
          {"start_lsn", p.start_lsn},
          {"stop_lsn", p.stop_lsn},
          {"checkpoint_lsn", p.checkpoint_lsn},
          {"start_wal", p.start_wal},
          {"stop_wal", p.stop_wal},
          {"start_us", p.start_us},
          {"stop_us", p.stop_us},
          {"stop_xmin", p.stop_xmin},
          {"data_checksums", p.data_checksums},
          {"block_size", p.block_size},
          {"segment_blocks", p.segment_blocks},
          {"wal_segment_size", p.wal_segment_size},
          {"pgdata", p.pgdata},
          {"owner", p.owner},
          {"superuser", p.superuser},
          {"source", p.source},
          {"from_standby", p.from_standby},
          {"paths", paths}};
}

PhysicalInfo ParsePhysicalInfo(const json& j) {
  PhysicalInfo p;
  p.mode = j.at("mode").get<std::string>();
  p.reference = j.value("reference", "");
  p.system_identifier = j.at("system_identifier").get<std::string>();
  p.pg_version_num = j.value("pg_version_num", 0);
  p.timeline = j.at("timeline").get<uint32_t>();
  p.start_lsn = j.at("start_lsn").get<std::string>();
  p.stop_lsn = j.at("stop_lsn").get<std::string>();
  p.checkpoint_lsn = j.value("checkpoint_lsn", "");
  p.start_wal = j.value("start_wal", "");
  p.stop_wal = j.value("stop_wal", "");
  p.start_us = j.at("start_us").get<int64_t>();
  p.stop_us = j.at("stop_us").get<int64_t>();
  p.stop_xmin = j.value("stop_xmin", "");
  p.data_checksums = j.value("data_checksums", false);
  p.block_size = j.value("block_size", 8192u);
  p.segment_blocks = j.value("segment_blocks", 131072u);
  p.wal_segment_size = j.value("wal_segment_size", uint64_t{16777216});
  p.pgdata = j.value("pgdata", "");
  p.owner = j.value("owner", "");
  p.superuser = j.value("superuser", "");
  p.source = j.value("source", "");
  p.from_standby = j.value("from_standby", false);
  for (const auto& pj : j.value("paths", json::array())) {
    PhysicalPath e;
    e.path = pj.at("path").get<std::string>();
    e.mode = ParseMode(pj.at("mode"));
    if (pj.contains("link")) {
      e.link = true;
      e.target = pj.at("link").get<std::string>();
    }
    p.paths.push_back(std::move(e));
  }
  return p;
}

void AddPhysicalFileFields(const ManifestFile& f, json* j) {
  if (f.mode != 0) (*j)["mode"] = ModeText(f.mode);
  if (f.mtime_ns != 0) (*j)["mtime_ns"] = f.mtime_ns;
  if (!f.reference.empty()) (*j)["reference"] = f.reference;
  if (!f.page_errors.empty()) (*j)["page_errors"] = f.page_errors;
}

void ParsePhysicalFileFields(const json& j, ManifestFile* f) {
  if (j.contains("mode")) f->mode = ParseMode(j.at("mode"));
  f->mtime_ns = j.value("mtime_ns", int64_t{0});
  f->reference = j.value("reference", "");
  f->page_errors = j.value("page_errors", std::vector<uint32_t>{});
}

}  // namespace pgk::repo
