#include "migrate/lint.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <utility>

#include "migrate/lint_cursor.h"
#include "migrate/lint_internal.h"
#include "migrate/sql_split.h"

namespace pgk::migrate {
namespace lint_internal {
namespace {

// Rule ids after a directive: "a,b, c because ..." lists a, b and c.
std::set<std::string> ParseRuleList(std::string_view s) {
  std::set<std::string> ids;
  auto is_id = [](char c) { return (c >= 'a' && c <= 'z') || std::isdigit(static_cast<unsigned char>(c)) || c == '-'; };
  size_t i = 0;
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t begin = i;
    while (i < s.size() && is_id(s[i])) ++i;
    if (i == begin) break;
    ids.emplace(s.substr(begin, i - begin));
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size() || s[i] != ',') break;
    ++i;
  }
  return ids;
}

// The rule ids of `-- <directive> ids` if `line` is such a comment line.
std::optional<std::set<std::string>> DirectiveRules(std::string_view line, std::string_view directive) {
  line = Trim(line);
  if (!line.starts_with("--")) return std::nullopt;
  line = Trim(line.substr(2));
  if (!line.starts_with(directive)) return std::nullopt;
  line.remove_prefix(directive.size());
  if (line.empty() || !std::isspace(static_cast<unsigned char>(line[0]))) return std::nullopt;
  return ParseRuleList(line);
}

}  // namespace

std::vector<LintFinding> Linter::Run() {
  for (size_t pos = 0; pos < sql_.size();) {
    size_t nl = std::min(sql_.find('\n', pos), sql_.size());
    if (auto ids = DirectiveRules(sql_.substr(pos, nl - pos), "pgkeeper:lint-ignore-file")) file_ignored_.merge(*ids);
    pos = nl + 1;
  }
  std::vector<Statement> statements = SplitStatements(sql_);
  size_t previous_end = 0;
  for (const Statement& s : statements) {
    statement_ = &s;
    tokens_ = Tokenize(s.text);
    ignored_ = IgnoredBefore(s.offset, previous_end);
    LintStatement();
    previous_end = s.offset + s.text.size();
  }
  std::stable_sort(findings_.begin(), findings_.end(),
                   [](const LintFinding& a, const LintFinding& b) { return a.line < b.line; });
  return std::move(findings_);
}

// Walks up from the statement's line through the `--` lines right above it; a blank line, a
// code line or the end of the previous statement stops the walk.
std::set<std::string> Linter::IgnoredBefore(size_t offset, size_t previous_end) const {
  std::set<std::string> ids;
  size_t line_start = offset == 0 ? 0 : sql_.rfind('\n', offset - 1) + 1;  // npos + 1 == 0
  while (line_start > 0) {
    size_t above = line_start - 1 == 0 ? 0 : sql_.rfind('\n', line_start - 2) + 1;
    std::string_view line = sql_.substr(above, line_start - 1 - above);
    if (above < previous_end || !Trim(line).starts_with("--")) break;
    if (auto found = DirectiveRules(line, "pgkeeper:lint-ignore")) ids.merge(*found);
    line_start = above;
  }
  return ids;
}

std::string Linter::Text(size_t begin, size_t end) const {
  if (begin >= end) return "";
  return CollapseSpace(
      std::string_view(statement_->text).substr(tokens_[begin].begin, tokens_[end - 1].end - tokens_[begin].begin));
}

void Linter::Report(Rule rule, std::string message, std::string suggestion) {
  const LintRule& r = LintRules()[static_cast<size_t>(rule)];
  if (ignored_.contains(r.id) || file_ignored_.contains(r.id)) return;
  findings_.push_back({file_, statement_->line, r.id, r.severity, std::move(message), std::move(suggestion)});
}

void Linter::RequireNoTransaction(Rule rule, const std::string& what) {
  if (no_transaction_) return;
  Report(rule, what + " cannot run inside a transaction block, and this migration runs in one: it would fail",
         "make `" + std::string(kNoTransaction) + "` the first line of this file; statements then commit one by one, " +
             (rule == Rule::kConcurrentlyInTransaction
                  ? "so keep only the concurrent statement(s) in it"
                  : "so keep in it only the statements that cannot run in a transaction"));
}

void Linter::LintStatement() {
  Cursor c(tokens_, 0, tokens_.size());
  LintTransactionBlockOnly(c);
  if (c.Accept("CREATE")) {
    LintCreate(c);
  } else if (c.Accept({"ALTER", "TABLE"})) {
    LintAlterTable(c);
  } else if (c.Accept("DROP")) {
    LintDrop(c);
  } else if (c.Accept("REINDEX")) {
    // CONCURRENTLY is either a keyword or, since PostgreSQL 14, an option in parentheses.
    if (c.Contains("CONCURRENTLY")) RequireNoTransaction(Rule::kConcurrentlyInTransaction, "REINDEX ... CONCURRENTLY");
  } else if (c.Accept("VACUUM")) {
    LintVacuum(c);
  } else if (c.Accept("CLUSTER")) {
    LintCluster(c);
  } else if (c.Accept("LOCK")) {
    LintLock(c);
  }
}

}  // namespace lint_internal

std::vector<LintFinding> LintMigration(const std::string& file, std::string_view sql, bool no_transaction) {
  return lint_internal::Linter(file, sql, no_transaction).Run();
}

const char* LintSeverityName(LintSeverity s) { return s == LintSeverity::kError ? "error" : "warning"; }

const std::vector<LintRule>& LintRules() {
  using enum LintSeverity;
  // Same order as enum lint_internal::Rule.
  static const std::vector<LintRule> rules = {
      {"create-index-not-concurrently", kError, "CREATE INDEX without CONCURRENTLY blocks writes during the build"},
      {"concurrently-in-transaction", kError, "a CONCURRENTLY statement in a file that runs in a transaction"},
      {"add-column-not-null-without-default", kError,
       "ADD COLUMN ... NOT NULL without DEFAULT fails on a non-empty table"},
      {"add-column-volatile-default", kWarning, "ADD COLUMN with a volatile default rewrites the table"},
      {"alter-column-type", kError, "ALTER COLUMN ... TYPE rewrites the table under ACCESS EXCLUSIVE"},
      {"set-not-null", kWarning, "SET NOT NULL scans the table under ACCESS EXCLUSIVE"},
      {"add-foreign-key-without-not-valid", kError, "ADD FOREIGN KEY without NOT VALID blocks writes to both tables"},
      {"add-check-without-not-valid", kError, "ADD CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE"},
      {"add-unique-or-pk-without-index", kError, "ADD UNIQUE/PRIMARY KEY builds an index under ACCESS EXCLUSIVE"},
      {"drop-column", kWarning, "DROP COLUMN breaks application versions still using it"},
      {"drop-table", kWarning, "DROP TABLE breaks application versions still using it"},
      {"rename", kWarning, "RENAME breaks application versions using the old name"},
      {"vacuum-full-or-cluster", kError, "VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE"},
      {"lock-table", kWarning, "explicit LOCK TABLE blocks traffic until the migration commits"},
      {"validate-in-same-transaction", kWarning,
       "VALIDATE CONSTRAINT in the transaction that added it NOT VALID scans under the ADD's lock"},
      {"vacuum-in-transaction", kError,
       "VACUUM, CREATE/DROP DATABASE, CREATE/DROP TABLESPACE or ALTER SYSTEM in a file that runs in a transaction"},
  };
  return rules;
}

}  // namespace pgk::migrate
