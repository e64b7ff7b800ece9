// Rules for whole statements other than ALTER TABLE: index builds, drops, maintenance
// commands, explicit locks, and statements PostgreSQL refuses inside a transaction block.
#include <initializer_list>
#include <optional>
#include <string>

#include "migrate/lint_cursor.h"
#include "migrate/lint_internal.h"

namespace pgk::migrate::lint_internal {

// PostgreSQL refuses these inside a transaction block (PreventInTransactionBlock), so in a
// transactional migration they fail at run time, after the statements before them ran.
void Linter::LintTransactionBlockOnly(Cursor c) {
  std::string what;
  if (c.Accept("VACUUM")) {
    std::string rest = Text(c);
    what = rest.empty() ? "VACUUM" : "VACUUM " + rest;
  } else if (c.Accept({"ALTER", "SYSTEM"})) {
    what = "ALTER SYSTEM " + Text(c);
  } else {
    std::string verb = c.Accept("CREATE") ? "CREATE" : c.Accept("DROP") ? "DROP" : "";
    std::string object = verb.empty()             ? ""
                         : c.Accept("DATABASE")   ? "DATABASE"
                         : c.Accept("TABLESPACE") ? "TABLESPACE"
                                                  : "";
    if (object.empty()) return;
    c.Accept({"IF", "EXISTS"});
    auto name = c.Ident();
    what = verb + " " + object + (name ? " " + ShowIdent(*name) : "");
  }
  RequireNoTransaction(Rule::kVacuumInTransaction, what);
}

void Linter::LintCreate(Cursor c) {
  bool unique = c.Accept("UNIQUE");
  if (c.IsWord("INDEX")) {
    size_t index_end = tokens_[c.pos()].end;
    c.Accept("INDEX");
    bool concurrently = c.Accept("CONCURRENTLY");
    c.Accept({"IF", "NOT", "EXISTS"});
    std::optional<std::string> index = c.IsWord("ON") ? std::nullopt : c.Ident();
    if (!c.Accept("ON")) return;
    c.Accept("ONLY");
    auto table = c.Relation();
    if (!table) return;
    std::string what = std::string(unique ? "CREATE UNIQUE INDEX" : "CREATE INDEX") +
                       (concurrently ? " CONCURRENTLY " : " ") + (index ? ShowIdent(*index) + " " : "") + "ON " +
                       table->Show();
    if (concurrently) return RequireNoTransaction(Rule::kConcurrentlyInTransaction, what);
    if (IsNew(*table)) return;
    std::string fixed =
        CollapseSpace(statement_->text.substr(0, index_end) + " CONCURRENTLY" + statement_->text.substr(index_end));
    Report(Rule::kCreateIndexNotConcurrently,
           what + " blocks all writes (INSERT, UPDATE, DELETE) to " + table->Show() + " until the index is built",
           fixed + "; in its own migration file whose first line is " + std::string(kNoTransaction) +
               " (if the build fails, drop the INVALID index it leaves with DROP INDEX CONCURRENTLY and retry)");
    return;
  }
  if (unique) return;
  c.Accept({"OR", "REPLACE"});
  if (!c.Accept("GLOBAL")) c.Accept("LOCAL");
  if (!c.Accept("TEMPORARY") && !c.Accept("TEMP")) c.Accept("UNLOGGED");
  if (!c.Accept("TABLE")) return;
  c.Accept({"IF", "NOT", "EXISTS"});
  if (auto table = c.Relation()) new_tables_.push_back(*table);
}

void Linter::LintDrop(Cursor c) {
  if (c.Accept({"INDEX", "CONCURRENTLY"})) {
    c.Accept({"IF", "EXISTS"});
    auto index = c.Relation();
    return RequireNoTransaction(Rule::kConcurrentlyInTransaction,
                                "DROP INDEX CONCURRENTLY" + (index ? " " + index->Show() : ""));
  }
  if (!c.Accept("TABLE")) return;
  c.Accept({"IF", "EXISTS"});
  std::string names;
  while (auto table = c.Relation()) {
    names += (names.empty() ? "" : ", ") + table->Show();
    if (!c.AcceptSymbol(',')) break;
  }
  if (names.empty()) return;
  Report(Rule::kDropTable,
         "DROP TABLE " + names + " deletes the data, and application versions still running that use it will fail",
         "first deploy application code that no longer reads or writes " + names +
             ", then drop it in a later migration (and suppress this with -- pgkeeper:lint-ignore drop-table)");
}

void Linter::LintVacuum(Cursor c) {
  bool full = false;
  if (c.AcceptSymbol('(')) {
    while (!c.AtEnd() && !c.AcceptSymbol(')')) {
      if (c.Accept("FULL")) {
        full = !c.IsAnyWord({"FALSE", "OFF"}) && !(c.Peek() != nullptr && c.Peek()->text == "0");
      } else {
        c.SkipTerm();
      }
    }
  } else {
    while (c.IsAnyWord({"FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE"})) {
      if (c.Accept("FULL")) {
        full = true;
      } else {
        c.SkipTerm();
      }
    }
  }
  if (!full) return;
  std::string tables = Text(c);
  std::string target = tables.empty() ? "every table in the database" : tables;
  Report(Rule::kVacuumFullOrCluster,
         "VACUUM FULL rewrites " + target + " under an ACCESS EXCLUSIVE lock (blocks reads and writes until done)",
         "use plain VACUUM (makes the space reusable without blocking traffic), or rebuild online with pg_repack or "
         "pg_squeeze, outside of migrations");
}

void Linter::LintCluster(Cursor c) {
  if (c.IsSymbol('(')) c.SkipTerm();
  c.Accept("VERBOSE");
  auto first = c.Relation();
  auto table = c.Accept("ON") ? c.Relation() : first;  // pre-8.3 form: CLUSTER index ON table
  std::string target = table ? table->Show() : "every previously clustered table";
  Report(Rule::kVacuumFullOrCluster,
         "CLUSTER rewrites " + target + " under an ACCESS EXCLUSIVE lock (blocks reads and writes until done)",
         "rebuild online with pg_repack (it can also order rows by an index), outside of migrations");
}

void Linter::LintLock(Cursor c) {
  c.Accept("TABLE");
  c.Accept("ONLY");
  std::string names;
  while (auto table = c.Relation()) {
    names += (names.empty() ? "" : ", ") + table->Show();
    c.AcceptSymbol('*');
    if (!c.AcceptSymbol(',')) break;
  }
  std::string mode = c.Accept("IN") ? Text(c) : "ACCESS EXCLUSIVE MODE";
  Report(Rule::kLockTable,
         "LOCK TABLE " + names + " IN " + mode +
             " blocks other sessions until the migration commits; while it waits for running queries, every "
             "query on " +
             names + " queues behind it",
         "remove it if the statements that follow take the locks they need; otherwise SET lock_timeout = '5s' "
         "before it so it gives up instead of stalling traffic, and keep the transaction short");
}

}  // namespace pgk::migrate::lint_internal
