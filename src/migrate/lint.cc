#include "migrate/lint.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "migrate/sql_split.h"
#include "pg/quote.h"

namespace pgk::migrate {
namespace {

using Kind = Token::Kind;

// Indexes into LintRules().
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
};

constexpr std::string_view kNoTransaction = "-- pgkeeper:no-transaction";

// PostgreSQL folds only ASCII letters of unquoted identifiers (multibyte encodings).
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) { return a.size() == b.size() && Lower(a) == Lower(b); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// For messages: statements quoted in them read better on one line.
std::string CollapseSpace(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  return out;
}

// Names as PostgreSQL resolves them: unquoted identifiers fold to lower case, quoted ones are
// exact. Shown the way a user would have to write them.
std::string ShowIdent(const std::string& name) {
  bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    plain = plain && ((c >= 'a' && c <= 'z') || std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  return plain ? name : pg::QuoteIdent(name);
}

struct RelName {
  std::string schema;  // empty when unqualified
  std::string name;

  std::string Show() const { return schema.empty() ? ShowIdent(name) : ShowIdent(schema) + "." + ShowIdent(name); }
  // Without a catalog we cannot resolve search_path, so an unqualified name may be the same
  // table as a qualified one.
  bool SameTable(const RelName& o) const {
    return name == o.name && (schema.empty() || o.schema.empty() || schema == o.schema);
  }
};

// Reads the tokens [pos, end) of one statement, or of one ALTER TABLE action.
class Cursor {
 public:
  Cursor(const std::vector<Token>& tokens, size_t begin, size_t end) : t_(tokens), pos_(begin), end_(end) {}

  bool AtEnd() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }
  size_t end() const { return end_; }
  const Token* Peek(size_t ahead = 0) const { return pos_ + ahead < end_ ? &t_[pos_ + ahead] : nullptr; }
  bool IsWord(std::string_view word, size_t ahead = 0) const {
    const Token* t = Peek(ahead);
    return t != nullptr && t->kind == Kind::kWord && EqualsIgnoreCase(t->text, word);
  }
  bool IsAnyWord(std::initializer_list<std::string_view> words) const {
    return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return IsWord(w); });
  }
  bool IsSymbol(char c) const {
    const Token* t = Peek();
    return t != nullptr && t->kind == Kind::kSymbol && t->text[0] == c;
  }
  // Consumes the words only if all of them are next, as in Accept({"IF", "NOT", "EXISTS"}).
  bool Accept(std::initializer_list<std::string_view> words) {
    size_t k = 0;
    for (std::string_view w : words) {
      if (!IsWord(w, k++)) return false;
    }
    pos_ += words.size();
    return true;
  }
  bool Accept(std::string_view word) { return Accept({word}); }
  bool AcceptSymbol(char c) {
    if (!IsSymbol(c)) return false;
    ++pos_;
    return true;
  }

  std::optional<std::string> Ident() {
    const Token* t = Peek();
    if (t == nullptr || (t->kind != Kind::kWord && t->kind != Kind::kQuotedIdentifier)) return std::nullopt;
    ++pos_;
    return t->kind == Kind::kWord ? Lower(t->text) : t->text;
  }
  // [catalog.][schema.]name
  std::optional<RelName> Relation() {
    auto first = Ident();
    if (!first) return std::nullopt;
    RelName r{"", *first};
    while (IsSymbol('.')) {
      ++pos_;
      auto next = Ident();
      if (!next) break;
      r.schema = std::move(r.name);
      r.name = std::move(*next);
    }
    return r;
  }
  // One token, or a whole parenthesized group.
  void SkipTerm() {
    if (AtEnd()) return;
    int depth = 0;
    do {
      if (IsSymbol('(')) ++depth;
      if (IsSymbol(')')) --depth;
      ++pos_;
    } while (depth > 0 && !AtEnd());
  }
  // Identifiers of a parenthesized list, as in FOREIGN KEY (a, b); the cursor moves past it.
  std::vector<std::string> IdentList() {
    std::vector<std::string> out;
    if (!AcceptSymbol('(')) return out;
    while (!AtEnd() && !AcceptSymbol(')')) {
      if (auto id = Ident()) {
        out.push_back(*id);
      } else {
        SkipTerm();
      }
    }
    return out;
  }
  bool Contains(std::string_view word) const {
    for (size_t i = pos_; i < end_; ++i) {
      if (t_[i].kind == Kind::kWord && EqualsIgnoreCase(t_[i].text, word)) return true;
    }
    return false;
  }

 private:
  const std::vector<Token>& t_;
  size_t pos_;
  size_t end_;
};

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

  std::set<std::string> IgnoredBefore(size_t offset, size_t previous_end) const;
  void LintStatement();
  void LintCreate(Cursor c);
  void LintDrop(Cursor c);
  void LintAlterTable(Cursor c);
  void LintAlterAction(const RelName& table, Cursor c);
  void LintAddColumn(const RelName& table, Cursor c);
  void LintAddConstraint(const RelName& table, Cursor c);
  void LintVacuum(Cursor c);
  void LintCluster(Cursor c);
  void LintLock(Cursor c);
  void RequireNoTransaction(const std::string& what);
  void Report(Rule rule, std::string message, std::string suggestion);
  bool IsNew(const RelName& table) const {
    return std::any_of(new_tables_.begin(), new_tables_.end(), [&](const RelName& t) { return t.SameTable(table); });
  }
  // The statement's text for tokens [begin, end), whitespace collapsed, for messages.
  std::string Text(size_t begin, size_t end) const;
  std::string Text(const Cursor& c) const { return Text(c.pos(), c.end()); }

  const std::string& file_;
  std::string_view sql_;
  bool no_transaction_;
  std::set<std::string> file_ignored_;
  std::vector<RelName> new_tables_;
  // CHECK (col IS NOT NULL) constraints seen so far: once valid, SET NOT NULL needs no scan.
  std::vector<NotNullCheck> not_null_checks_;
  std::vector<LintFinding> findings_;
  // The statement being linted.
  const Statement* statement_ = nullptr;
  std::vector<Token> tokens_;
  std::set<std::string> ignored_;
};

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
  if (ignored_.count(r.id) > 0 || file_ignored_.count(r.id) > 0) return;
  findings_.push_back({file_, statement_->line, r.id, r.severity, std::move(message), std::move(suggestion)});
}

void Linter::RequireNoTransaction(const std::string& what) {
  if (no_transaction_) return;
  Report(Rule::kConcurrentlyInTransaction,
         what + " cannot run inside a transaction block, and this migration runs in one: it would fail",
         "make `" + std::string(kNoTransaction) +
             "` the first line of this file; statements then commit one by one, so keep only the concurrent "
             "statement(s) in it");
}

void Linter::LintStatement() {
  Cursor c(tokens_, 0, tokens_.size());
  if (c.Accept("CREATE")) {
    LintCreate(c);
  } else if (c.Accept({"ALTER", "TABLE"})) {
    LintAlterTable(c);
  } else if (c.Accept("DROP")) {
    LintDrop(c);
  } else if (c.Accept("REINDEX")) {
    // CONCURRENTLY is either a keyword or, since PostgreSQL 14, an option in parentheses.
    if (c.Contains("CONCURRENTLY")) RequireNoTransaction("REINDEX ... CONCURRENTLY");
  } else if (c.Accept("VACUUM")) {
    LintVacuum(c);
  } else if (c.Accept("CLUSTER")) {
    LintCluster(c);
  } else if (c.Accept("LOCK")) {
    LintLock(c);
  }
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
    if (concurrently) return RequireNoTransaction(what);
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
    return RequireNoTransaction("DROP INDEX CONCURRENTLY" + (index ? " " + index->Show() : ""));
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
  bool is_new = IsNew(table);
  if (c.Accept("ADD")) {
    if (c.IsAnyWord({"CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "FOREIGN", "EXCLUDE"})) {
      return LintAddConstraint(table, c);
    }
    c.Accept("COLUMN");
    c.Accept({"IF", "NOT", "EXISTS"});
    if (!is_new) LintAddColumn(table, c);
  } else if (c.Accept("ALTER")) {
    if (c.IsWord("CONSTRAINT")) return;
    c.Accept("COLUMN");
    auto col = c.Ident();
    if (!col || is_new) return;
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
                 " IS NOT NULL) NOT VALID; then in a later migration ALTER TABLE " + t + " VALIDATE CONSTRAINT " +
                 check +
                 "; then SET NOT NULL (PostgreSQL 12+ skips the scan when a valid check proves it) and DROP "
                 "CONSTRAINT " +
                 check);
    }
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
    if (c.Accept("TO")) {
      auto to = c.Ident();
      if (!to) return;
      std::string target = RelName{table.schema, *to}.Show();
      Report(Rule::kRename,
             "ALTER TABLE " + t + " RENAME TO " + target + " breaks application versions still running that use " + t,
             "rename and leave a view under the old name for the transition: ALTER TABLE " + t + " RENAME TO " +
                 target + "; CREATE VIEW " + t + " AS SELECT * FROM " + target +
                 "; (a simple view is updatable), and drop the view once no running version uses it");
    } else if (!c.IsWord("CONSTRAINT")) {
      c.Accept("COLUMN");
      auto from = c.Ident();
      c.Accept("TO");
      auto to = c.Ident();
      if (!from || !to) return;
      Report(Rule::kRename,
             "ALTER TABLE " + t + " RENAME COLUMN " + ShowIdent(*from) + " TO " + ShowIdent(*to) +
                 " breaks application versions still running that use " + ShowIdent(*from),
             "add " + ShowIdent(*to) +
                 " as a new column, write both (or sync with a trigger), backfill, move the "
                 "readers, then drop " +
                 ShowIdent(*from) + " in a later migration");
    }
  } else if (c.Accept({"DETACH", "PARTITION"})) {
    auto partition = c.Relation();
    if (partition && c.Accept("CONCURRENTLY")) {
      RequireNoTransaction("ALTER TABLE " + t + " DETACH PARTITION " + partition->Show() + " CONCURRENTLY");
    }
  } else if (c.Accept({"VALIDATE", "CONSTRAINT"})) {
    auto name = c.Ident();
    for (NotNullCheck& check : not_null_checks_) {
      if (name && check.constraint == *name && check.table.SameTable(table)) check.valid = true;
    }
  }
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
  bool serial = kSerial.count(Lower(type)) > 0;
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
        if (tokens_[i].kind == Kind::kWord && kVolatile.count(Lower(tokens_[i].text)) > 0 &&
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
    // CHECK (col IS NOT NULL) proves the column non-null once valid.
    if (c.AcceptSymbol('(')) {
      auto col = c.Ident();
      if (col && c.Accept({"IS", "NOT", "NULL"}) && c.AcceptSymbol(')')) {
        not_null_checks_.push_back({table, name ? *name : table.name + "_" + *col + "_check", *col, !not_valid});
      }
    }
    if (not_valid || IsNew(table)) return;
    std::string constraint = name ? ShowIdent(*name) : ShowIdent(table.name + "_check");
    Report(Rule::kAddCheckWithoutNotValid,
           "ALTER TABLE " + t + " ADD " + (name ? "CONSTRAINT " + constraint + " " : "") + body + " scans all of " + t +
               " under an ACCESS EXCLUSIVE lock (blocks reads and writes)",
           later_validate(constraint));
  } else if (c.Accept({"FOREIGN", "KEY"})) {
    std::vector<std::string> columns = c.IdentList();
    if (not_valid || IsNew(table) || !c.Accept("REFERENCES")) return;
    auto referenced = c.Relation();
    std::string ref = referenced ? referenced->Show() : "the referenced table";
    std::string default_name = table.name;
    for (const std::string& col : columns) default_name += "_" + col;
    std::string constraint = ShowIdent(name ? *name : default_name + "_fkey");
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

}  // namespace

std::vector<LintFinding> LintMigration(const std::string& file, std::string_view sql, bool no_transaction) {
  return Linter(file, sql, no_transaction).Run();
}

const char* LintSeverityName(LintSeverity s) { return s == LintSeverity::kError ? "error" : "warning"; }

const std::vector<LintRule>& LintRules() {
  using enum LintSeverity;
  // Same order as enum Rule.
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
  };
  return rules;
}

}  // namespace pgk::migrate
