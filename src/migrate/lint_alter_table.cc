// Rules for ALTER TABLE, one action (between top-level commas) at a time.
#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "migrate/lint_cursor.h"
#include "migrate/lint_internal.h"

namespace pgk::migrate::lint_internal {

using Kind = Token::Kind;

void Linter::LintAlterTable(Cursor c) {
  c.Accept({"IF", "EXISTS"});
  c.Accept("ONLY");
  auto table = c.Relation();
  if (!table) return;
  c.AcceptSymbol('*');
  // Actions are separated by commas outside parentheses.
  size_t begin = c.pos();
  int depth = 0;
  for (size_t i = begin; i <= tokens_.size(); ++i) {
    bool at_end = i == tokens_.size();
    if (!at_end && tokens_[i].kind == Kind::kSymbol) {
      depth += tokens_[i].text == "(" ? 1 : tokens_[i].text == ")" ? -1 : 0;
    }
    if (at_end || (depth == 0 && tokens_[i].kind == Kind::kSymbol && tokens_[i].text == ",")) {
      LintAlterAction(*table, Cursor(tokens_, begin, i));
      begin = i + 1;
    }
  }
}

void Linter::LintAlterAction(const RelName& table, Cursor c) {
  const std::string t = table.Show();
  if (c.Accept("ADD")) {
    if (c.IsAnyWord({"CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "FOREIGN", "EXCLUDE"})) {
      return LintAddConstraint(table, c);
    }
    c.Accept("COLUMN");
    c.Accept({"IF", "NOT", "EXISTS"});
    if (!IsNew(table)) LintAddColumn(table, c);
  } else if (c.Accept("ALTER")) {
    if (c.IsWord("CONSTRAINT")) return;
    c.Accept("COLUMN");
    LintAlterColumn(table, c);
  } else if (c.Accept("DROP")) {
    if (c.IsWord("CONSTRAINT")) return;
    c.Accept("COLUMN");
    c.Accept({"IF", "EXISTS"});
    auto col = c.Ident();
    if (!col) return;
    std::string column = ShowIdent(*col);
    Report(Rule::kDropColumn,
           "ALTER TABLE " + t + " DROP COLUMN " + column +
               " deletes its data, and application versions still running that use " + column + " will fail",
           "first deploy application code that no longer uses " + t + "." + column +
               " (tell the ORM to ignore it), then drop it in a later migration (and suppress this with "
               "-- pgkeeper:lint-ignore drop-column)");
  } else if (c.Accept("RENAME")) {
    LintRename(table, c);
  } else if (c.Accept({"DETACH", "PARTITION"})) {
    auto partition = c.Relation();
    if (partition && c.Accept("CONCURRENTLY")) {
      RequireNoTransaction(Rule::kConcurrentlyInTransaction,
                           "ALTER TABLE " + t + " DETACH PARTITION " + partition->Show() + " CONCURRENTLY");
    }
  } else if (c.Accept({"VALIDATE", "CONSTRAINT"})) {
    if (auto name = c.Ident()) LintValidateConstraint(table, *name);
  }
}

// After ALTER [COLUMN].
void Linter::LintAlterColumn(const RelName& table, Cursor c) {
  auto col = c.Ident();
  if (!col || IsNew(table)) return;
  const std::string t = table.Show();
  std::string column = ShowIdent(*col);
  if (c.Accept("TYPE") || c.Accept({"SET", "DATA", "TYPE"})) {
    size_t type_begin = c.pos();
    while (!c.AtEnd() && !c.IsAnyWord({"USING", "COLLATE"})) c.SkipTerm();
    std::string type = Text(type_begin, c.pos());
    Report(Rule::kAlterColumnType,
           "ALTER TABLE " + t + " ALTER COLUMN " + column + " TYPE " + type + " rewrites " + t +
               " and rebuilds its indexes under an ACCESS EXCLUSIVE lock (blocks reads and writes), unless the "
               "change is binary-coercible (such as varchar(n) to text or to a longer varchar)",
           "ALTER TABLE " + t + " ADD COLUMN " + ShowIdent(*col + "_new") + " " + type +
               "; keep it in sync (trigger or dual writes), backfill it in batches, then swap the names in a short "
               "transaction and drop the old column once no running version uses it; if the change is "
               "binary-coercible, suppress this with -- pgkeeper:lint-ignore alter-column-type");
  } else if (c.Accept({"SET", "NOT", "NULL"})) {
    for (const NotNullCheck& check : not_null_checks_) {
      if (check.valid && check.column == *col && check.table.SameTable(table)) return;
    }
    std::string check = ShowIdent(table.name + "_" + *col + "_not_null");
    Report(Rule::kSetNotNull,
           "ALTER TABLE " + t + " ALTER COLUMN " + column + " SET NOT NULL scans all of " + t +
               " for nulls under an ACCESS EXCLUSIVE lock (blocks reads and writes)",
           "ALTER TABLE " + t + " ADD CONSTRAINT " + check + " CHECK (" + column +
               " IS NOT NULL) NOT VALID; then in a later migration ALTER TABLE " + t + " VALIDATE CONSTRAINT " + check +
               "; then SET NOT NULL (PostgreSQL 12+ skips the scan when a valid check proves it) and DROP "
               "CONSTRAINT " +
               check);
  }
}

// After RENAME: the table itself, or a column (RENAME CONSTRAINT keeps the schema's shape).
void Linter::LintRename(const RelName& table, Cursor c) {
  const std::string t = table.Show();
  if (c.Accept("TO")) {
    auto to = c.Ident();
    if (!to) return;
    std::string target = RelName{table.schema, *to}.Show();
    Report(Rule::kRename,
           "ALTER TABLE " + t + " RENAME TO " + target + " breaks application versions still running that use " + t,
           "rename and leave a view under the old name for the transition: ALTER TABLE " + t + " RENAME TO " + target +
               "; CREATE VIEW " + t + " AS SELECT * FROM " + target +
               "; (a simple view is updatable), and drop the view once no running version uses it");
    return;
  }
  if (c.IsWord("CONSTRAINT")) return;
  c.Accept("COLUMN");
  auto from = c.Ident();
  c.Accept("TO");
  auto to = c.Ident();
  if (!from || !to) return;
  Report(Rule::kRename,
         "ALTER TABLE " + t + " RENAME COLUMN " + ShowIdent(*from) + " TO " + ShowIdent(*to) +
             " breaks application versions still running that use " + ShowIdent(*from),
         "add " + ShowIdent(*to) +
             " as a new column, write both (or sync with a trigger), backfill, move the readers, then drop " +
             ShowIdent(*from) + " in a later migration");
}

void Linter::LintAddColumn(const RelName& table, Cursor c) {
  static const std::initializer_list<std::string_view> kConstraintWords = {
      "CONSTRAINT", "NOT", "NULL", "DEFAULT", "CHECK", "UNIQUE", "PRIMARY", "REFERENCES", "GENERATED", "COLLATE"};
  // Functions whose result differs per row: a default using one cannot be stored once in the
  // catalog (the PostgreSQL 11 fast path), so every existing row is rewritten.
  static const std::set<std::string> kVolatile = {
      "random",  "random_normal",    "clock_timestamp",  "timeofday",          "gen_random_uuid",
      "uuidv4",  "uuidv7",           "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
      "nextval", "gen_random_bytes", "txid_current",     "pg_current_xact_id"};
  // Serial types and the integer type under them.
  static const std::map<std::string, std::string> kSerial = {{"smallserial", "smallint"}, {"serial2", "smallint"},
                                                             {"serial", "integer"},       {"serial4", "integer"},
                                                             {"bigserial", "bigint"},     {"serial8", "bigint"}};

  auto col = c.Ident();
  if (!col) return;
  const std::string t = table.Show();
  const std::string column = ShowIdent(*col);
  size_t type_begin = c.pos();
  while (!c.AtEnd() && !c.IsAnyWord(kConstraintWords)) c.SkipTerm();
  std::string type = Text(type_begin, c.pos());
  bool serial = kSerial.contains(Lower(type));
  bool not_null = serial;
  bool has_default = serial;
  bool sequence = serial;  // values come from a sequence: a volatile default
  std::string volatile_default;
  while (!c.AtEnd()) {
    if (c.Accept({"NOT", "NULL"}) || c.Accept({"PRIMARY", "KEY"})) {
      not_null = true;
    } else if (c.Accept("GENERATED")) {
      has_default = true;
      if (!c.Accept("ALWAYS")) c.Accept({"BY", "DEFAULT"});
      sequence = sequence || c.Accept({"AS", "IDENTITY"});
    } else if (c.Accept("DEFAULT")) {
      size_t begin = c.pos();
      c.SkipTerm();  // at least one term: in DEFAULT NULL, NULL is the expression
      while (!c.AtEnd() && !c.IsAnyWord(kConstraintWords)) c.SkipTerm();
      if (c.pos() == begin || (c.pos() == begin + 1 && EqualsIgnoreCase(tokens_[begin].text, "NULL"))) continue;
      has_default = true;
      for (size_t i = begin; i + 1 < c.pos(); ++i) {
        if (tokens_[i].kind == Kind::kWord && kVolatile.contains(Lower(tokens_[i].text)) &&
            tokens_[i + 1].text == "(") {
          volatile_default = Text(begin, c.pos());
        }
      }
    } else {
      c.SkipTerm();
    }
  }
  if (not_null && !has_default) {
    std::string check = ShowIdent(table.name + "_" + *col + "_not_null");
    Report(Rule::kAddColumnNotNullWithoutDefault,
           "ALTER TABLE " + t + " ADD COLUMN " + column + " " + type + " NOT NULL without a DEFAULT fails as soon as " +
               t + " has a row",
           "ALTER TABLE " + t + " ADD COLUMN " + column + " " + type +
               " NOT NULL DEFAULT <constant> (a constant default needs no rewrite since PostgreSQL 11); or add it "
               "nullable, backfill in batches, ADD CONSTRAINT " +
               check + " CHECK (" + column + " IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT " + check +
               " in a later migration, then SET NOT NULL");
  }
  if (sequence || !volatile_default.empty()) {
    std::string plain_type = serial ? kSerial.at(Lower(type)) : type;
    std::string seq = ShowIdent(table.name + "_" + *col + "_seq");
    std::string expr = volatile_default.empty() ? "nextval('" + seq + "')" : volatile_default;
    Report(Rule::kAddColumnVolatileDefault,
           "ALTER TABLE " + t + " ADD COLUMN " + column + " with default " +
               (volatile_default.empty() ? "values from a sequence" : volatile_default) +
               " (volatile) rewrites all of " + t + " under an ACCESS EXCLUSIVE lock (blocks reads and writes)",
           std::string(volatile_default.empty() ? "CREATE SEQUENCE " + seq + "; " : "") + "ALTER TABLE " + t +
               " ADD COLUMN " + column + " " + plain_type + "; ALTER TABLE " + t + " ALTER COLUMN " + column +
               " SET DEFAULT " + expr + " (new rows only); then backfill existing rows in batches");
  }
}

void Linter::LintAddConstraint(const RelName& table, Cursor c) {
  const std::string t = table.Show();
  std::optional<std::string> name;
  if (c.Accept("CONSTRAINT")) name = c.Ident();
  const size_t body_begin = c.pos();
  // NOT VALID ends the action; "NOT DEFERRABLE" and "NOT NULL" do not count.
  size_t n = c.end() - c.pos();
  bool not_valid = n >= 2 && c.IsWord("NOT", n - 2) && c.IsWord("VALID", n - 1);
  std::string body = Text(body_begin, not_valid ? c.end() - 2 : c.end());
  auto later_validate = [&](const std::string& constraint) {
    return "ALTER TABLE " + t + " ADD CONSTRAINT " + constraint + " " + body +
           " NOT VALID (checks new rows only); "
           "then in a later migration ALTER TABLE " +
           t + " VALIDATE CONSTRAINT " + constraint +
           " (checks old rows without blocking writes; in the same transaction it would keep the stronger lock)";
  };
  if (c.Accept("CHECK")) {
    // An unnamed check can be matched to a later VALIDATE only where we know PostgreSQL's
    // name for it: <table>_<column>_check when it uses one column, as CHECK (col IS NOT NULL).
    std::optional<std::string> known_name = name;
    // CHECK (col IS NOT NULL) proves the column non-null once valid.
    if (c.AcceptSymbol('(')) {
      auto col = c.Ident();
      if (col && c.Accept({"IS", "NOT", "NULL"}) && c.AcceptSymbol(')')) {
        known_name = name ? *name : table.name + "_" + *col + "_check";
        not_null_checks_.push_back({table, *known_name, *col, !not_valid});
      }
    }
    if (not_valid && known_name) {
      not_valid_.push_back({.table = table,
                            .name = *known_name,
                            .line = statement_->line,
                            .locks = "an ACCESS EXCLUSIVE lock on " + t,
                            .blocked = "reads and writes to " + t + " blocked",
                            .foreign_key = false});
    }
    if (not_valid || IsNew(table)) return;
    std::string constraint = name ? ShowIdent(*name) : ShowIdent(table.name + "_check");
    Report(Rule::kAddCheckWithoutNotValid,
           "ALTER TABLE " + t + " ADD " + (name ? "CONSTRAINT " + constraint + " " : "") + body + " scans all of " + t +
               " under an ACCESS EXCLUSIVE lock (blocks reads and writes)",
           later_validate(constraint));
  } else if (c.Accept({"FOREIGN", "KEY"})) {
    std::vector<std::string> columns = c.IdentList();
    bool references = c.Accept("REFERENCES");
    auto referenced = references ? c.Relation() : std::nullopt;
    std::string ref = referenced ? referenced->Show() : "the referenced table";
    std::string constraint_name = table.name;
    for (const std::string& col : columns) constraint_name += "_" + col;
    constraint_name = name ? *name : constraint_name + "_fkey";
    if (not_valid) {
      not_valid_.push_back({.table = table,
                            .name = constraint_name,
                            .line = statement_->line,
                            .locks = "SHARE ROW EXCLUSIVE locks on " + t + " and " + ref,
                            .blocked = "writes to both tables blocked",
                            .foreign_key = true});
      return;
    }
    if (IsNew(table) || !references) return;
    std::string constraint = ShowIdent(constraint_name);
    Report(Rule::kAddForeignKeyWithoutNotValid,
           "ALTER TABLE " + t + " ADD " + (name ? "CONSTRAINT " + constraint + " " : "") + body + " checks all of " +
               t + " while holding SHARE ROW EXCLUSIVE locks on " + t + " and " + ref + " (blocks writes to both)",
           later_validate(constraint));
  } else if (c.Accept("UNIQUE") || c.Accept({"PRIMARY", "KEY"})) {
    bool primary = EqualsIgnoreCase(tokens_[c.pos() - 1].text, "KEY");
    if (c.Accept({"USING", "INDEX"}) || IsNew(table)) return;
    if (!c.Accept({"NULLS", "NOT", "DISTINCT"})) c.Accept({"NULLS", "DISTINCT"});
    size_t columns_begin = c.pos();
    std::vector<std::string> columns = c.IdentList();
    std::string default_name = table.name;
    for (const std::string& col : columns) default_name += "_" + col;
    std::string index = ShowIdent(name ? *name : primary ? table.name + "_pkey" : default_name + "_key");
    std::string kind = primary ? "PRIMARY KEY" : "UNIQUE";
    Report(Rule::kAddUniqueOrPkWithoutIndex,
           "ALTER TABLE " + t + " ADD " + (name ? "CONSTRAINT " + index + " " : "") + body +
               " builds its unique index under an ACCESS EXCLUSIVE lock (blocks reads and writes for the whole "
               "build)",
           "CREATE UNIQUE INDEX CONCURRENTLY " + index + " ON " + t + " " + Text(columns_begin, c.pos()) +
               "; in a file marked " + std::string(kNoTransaction) + ", then ALTER TABLE " + t + " ADD CONSTRAINT " +
               index + " " + kind + " USING INDEX " + index +
               (primary ? " (the columns must already be NOT NULL)" : ""));
  }
}

// VALIDATE after ADD ... NOT VALID is the safe pattern only across a commit: in one
// transaction the ADD's lock is still held, so the scan blocks what NOT VALID meant to spare.
void Linter::LintValidateConstraint(const RelName& table, const std::string& name) {
  for (NotNullCheck& check : not_null_checks_) {
    if (check.constraint == name && check.table.SameTable(table)) check.valid = true;
  }
  if (no_transaction_ || IsNew(table)) return;
  auto added = std::find_if(not_valid_.rbegin(), not_valid_.rend(),
                            [&](const NotValidConstraint& n) { return n.name == name && n.table.SameTable(table); });
  if (added == not_valid_.rend()) return;
  const std::string validate = "ALTER TABLE " + table.Show() + " VALIDATE CONSTRAINT " + ShowIdent(name);
  Report(Rule::kValidateInSameTransaction,
         validate + " runs in the transaction that added " + ShowIdent(name) + " NOT VALID (line " +
             std::to_string(added->line) + "), which holds " + added->locks +
             " until commit: the validation scan runs with " + added->blocked + ", so NOT VALID gains nothing",
         "move `" + validate +
             ";` into the next migration file: in its own transaction it takes only a SHARE UPDATE EXCLUSIVE lock" +
             (added->foreign_key ? " (and ROW SHARE on the referenced table)" : "") +
             ", so reads and writes go on during the scan");
}

}  // namespace pgk::migrate::lint_internal
