// Static checks for migration files: flags statements that lock or rewrite a busy table and
// says what to write instead. Works on the SQL text alone (no server, no catalog), so it
// knows only what the file itself says; a table created earlier in the same file is known to
// be new and empty.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgk::migrate {

enum class LintSeverity { kWarning, kError };

struct LintFinding {
  std::string file;  // as passed in
  int line = 0;      // line of the statement in the file
  std::string rule;  // stable id, e.g. "create-index-not-concurrently"
  LintSeverity severity = LintSeverity::kWarning;
  std::string message;     // what is risky, naming the table (and index/column/constraint where known)
  std::string suggestion;  // the safer pattern, concrete (shows the SQL shape to use)
};

// Lints one migration file's SQL. `no_transaction` is true when the file starts with the
// directive line `-- pgkeeper:no-transaction` (the caller detects it and passes it in).
// Findings are ordered by line.
//
// Suppression: a comment line `-- pgkeeper:lint-ignore <rule-id>[,<rule-id>...]` among the
// `--` comment lines directly above a statement (no blank line in between) suppresses those
// rules for that statement; `-- pgkeeper:lint-ignore-file <rule-id>[,...]` on any line
// suppresses them for the whole file. Text after the list (a reason) is ignored.
std::vector<LintFinding> LintMigration(const std::string& file, std::string_view sql, bool no_transaction);

const char* LintSeverityName(LintSeverity s);  // "warning" / "error"

struct LintRule {
  const char* id;
  LintSeverity severity;
  const char* summary;  // one line, for listings
};
// Every rule LintMigration can report, in a stable order.
const std::vector<LintRule>& LintRules();

}  // namespace pgk::migrate
