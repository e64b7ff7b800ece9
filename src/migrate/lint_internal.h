// Internal to the migration linter: the rule ids and the Linter that walks one file. The
// driver (suppression, dispatch, reporting) is in lint.cc, statement-level rules in
// lint_rules.cc, ALTER TABLE actions in lint_alter_table.cc.
#pragma once

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/lint.h"
#include "migrate/lint_cursor.h"
#include "migrate/sql_split.h"

namespace pgk::migrate::lint_internal {

// Indexes into LintRules(): keep both in the same order.
enum class Rule {
  kCreateIndexNotConcurrently,
  kConcurrentlyInTransaction,
  kAddColumnNotNullWithoutDefault,
  kAddColumnVolatileDefault,
  kAlterColumnType,
  kSetNotNull,
  kAddForeignKeyWithoutNotValid,
  kAddCheckWithoutNotValid,
  kAddUniqueOrPkWithoutIndex,
  kDropColumn,
  kDropTable,
  kRename,
  kVacuumFullOrCluster,
  kLockTable,
  kValidateInSameTransaction,
  kVacuumInTransaction,
};

inline constexpr std::string_view kNoTransaction = "-- pgkeeper:no-transaction";

// Lints one file, statement by statement, remembering what earlier statements of the file
// created or added. Use once: Run() hands over the findings.
class Linter {
 public:
  Linter(const std::string& file, std::string_view sql, bool no_transaction)
      : file_(file), sql_(sql), no_transaction_(no_transaction) {}

  std::vector<LintFinding> Run();

 private:
  struct NotNullCheck {
    RelName table;
    std::string constraint;
    std::string column;
    bool valid;
  };
  // A constraint added NOT VALID earlier in the file, with the locks its ADD took.
  struct NotValidConstraint {
    RelName table;
    std::string name;  // explicit, or PostgreSQL's default where we can compute it
    int line;
    std::string locks;    // e.g. "an ACCESS EXCLUSIVE lock on t"
    std::string blocked;  // what those locks block, e.g. "reads and writes"
    bool foreign_key;
  };

  // lint.cc
  std::set<std::string> IgnoredBefore(size_t offset, size_t previous_end) const;
  void LintStatement();
  void Report(Rule rule, std::string message, std::string suggestion);
  // Reports `rule` unless the file runs outside a transaction; `what` names the statement.
  void RequireNoTransaction(Rule rule, const std::string& what);
  // The statement's text for tokens [begin, end), whitespace collapsed, for messages.
  std::string Text(size_t begin, size_t end) const;
  std::string Text(const Cursor& c) const { return Text(c.pos(), c.end()); }
  bool IsNew(const RelName& table) const {
    return std::any_of(new_tables_.begin(), new_tables_.end(), [&](const RelName& t) { return t.SameTable(table); });
  }

  // lint_rules.cc
  void LintTransactionBlockOnly(Cursor c);
  void LintCreate(Cursor c);
  void LintDrop(Cursor c);
  void LintVacuum(Cursor c);
  void LintCluster(Cursor c);
  void LintLock(Cursor c);

  // lint_alter_table.cc
  void LintAlterTable(Cursor c);
  void LintAlterAction(const RelName& table, Cursor c);
  void LintAlterColumn(const RelName& table, Cursor c);
  void LintRename(const RelName& table, Cursor c);
  void LintAddColumn(const RelName& table, Cursor c);
  void LintAddConstraint(const RelName& table, Cursor c);
  void LintValidateConstraint(const RelName& table, const std::string& name);

  const std::string& file_;
  std::string_view sql_;
  bool no_transaction_;
  std::set<std::string> file_ignored_;
  std::vector<RelName> new_tables_;
  // CHECK (col IS NOT NULL) constraints seen so far: once valid, SET NOT NULL needs no scan.
  std::vector<NotNullCheck> not_null_checks_;
  std::vector<NotValidConstraint> not_valid_;
  std::vector<LintFinding> findings_;
  // The statement being linted.
  const Statement* statement_ = nullptr;
  std::vector<Token> tokens_;
  std::set<std::string> ignored_;
};

}  // namespace pgk::migrate::lint_internal
