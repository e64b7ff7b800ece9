// Comparing two snapshots: `expected` (what the application needs) against `actual` (what
// the database has). Every difference carries a severity:
//   error    something the application relies on is missing or different: a missing
//            table, column, constraint, index, view, function or type; a type or
//            nullability mismatch; a different foreign key target; a changed definition
//   warning  something extra (added by hand), a different default, an index under another
//            name with the same definition, a different sequence setting
//   info     comments and grants
#pragma once

#include <string>
#include <vector>

#include "schema/model.h"

namespace pgk::schema {

enum class Severity { kInfo, kWarning, kError };
const char* SeverityName(Severity s);

struct Difference {
  Severity severity = Severity::kError;
  std::string object_kind;  // "table", "column", "index", ...
  std::string object;       // the owning object, e.g. "public.positions" (groups the output)
  std::string item;         // the part within it, e.g. "column amount" ("" for the object itself)
  std::string what;         // "missing", "extra", "type", "nullability", "default", "definition", ...
  std::string expected;     // may be empty
  std::string actual;       // may be empty
  std::string Message() const;  // one readable sentence
};

struct DiffResult {
  std::vector<Difference> differences;  // grouped by object, in snapshot order
  std::vector<std::string> not_compared;  // kinds present on either side that the model does not cover
  int Count(Severity s) const;
  // Failing: any error, or any warning when strict.
  bool Fails(bool strict) const { return Count(Severity::kError) > 0 || (strict && Count(Severity::kWarning) > 0); }
};

DiffResult Diff(const Snapshot& expected, const Snapshot& actual);

// Drops the named tables (e.g. the migration history) from a snapshot before comparing.
void ExcludeTables(Snapshot& s, const std::vector<std::string>& qualified_names);

}  // namespace pgk::schema
