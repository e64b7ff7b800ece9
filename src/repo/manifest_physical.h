// JSON of the physical parts of a manifest (PhysicalInfo, and the per-file fields of
// physical backups). Internal to manifest.cc; split out to keep that file small.
#pragma once

#include <nlohmann/json.hpp>

#include "repo/manifest.h"

namespace pgk::repo {

nlohmann::json PhysicalInfoJson(const PhysicalInfo& p);
PhysicalInfo ParsePhysicalInfo(const nlohmann::json& j);  // throws json::exception on bad types
// Adds the physical per-file fields to `j` (only those that are set).
void AddPhysicalFileFields(const ManifestFile& f, nlohmann::json* j);
void ParsePhysicalFileFields(const nlohmann::json& j, ManifestFile* f);

}  // namespace pgk::repo
