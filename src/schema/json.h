// The snapshot file format: the model as JSON with sorted keys, sorted collections, absent
// optionals omitted and two-space indentation, so snapshots diff well in code review.
// "format": 1 identifies the version; readers refuse other versions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "schema/model.h"

namespace pgk::schema {

nlohmann::json ToJson(const Snapshot& s);
// Malformed (exit 2) with `origin` and the reason when the document is not a snapshot.
Result<Snapshot> FromJson(const nlohmann::json& j, const std::string& origin);
std::string SerializeSnapshot(const Snapshot& s);  // ToJson().dump(2) + "\n"
Result<Snapshot> ParseSnapshot(const std::string& text, const std::string& origin);

}  // namespace pgk::schema
