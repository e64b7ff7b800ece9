// Internal to the migration linter (lint*.cc): names as PostgreSQL resolves them, and a
// cursor that matches keyword sequences over the tokens of one statement. Not a parser: every
// matcher tolerates truncated or unexpected input by matching nothing.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"
#include "migrate/sql_split.h"

namespace pgk::migrate::lint_internal {

// ASCII-only lower case, as PostgreSQL folds unquoted identifiers.
std::string Lower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Whitespace runs become one space, so statements quoted in messages fit on one line.
std::string CollapseSpace(std::string_view s);
// A resolved name the way a user would have to write it: bare when it is a plain lower-case
// identifier, double-quoted otherwise.
std::string ShowIdent(const std::string& name);

struct RelName {
  std::string schema;  // empty when unqualified
  std::string name;

  std::string Show() const { return schema.empty() ? ShowIdent(name) : ShowIdent(schema) + "." + ShowIdent(name); }
  // True when both may name the same table: an unqualified name matches any schema, because
  // without a catalog search_path cannot be resolved.
  bool SameTable(const RelName& o) const {
    return name == o.name && (schema.empty() || o.schema.empty() || schema == o.schema);
  }
};

// Reads the tokens [begin, end) of one statement, or of one ALTER TABLE action. `tokens`
// must outlive the cursor.
class Cursor {
 public:
  Cursor(const std::vector<Token>& tokens, size_t begin, size_t end) : t_(tokens), pos_(begin), end_(end) {}

  bool AtEnd() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }
  size_t end() const { return end_; }
  const Token* Peek(size_t ahead = 0) const { return pos_ + ahead < end_ ? &t_[pos_ + ahead] : nullptr; }
  bool IsWord(std::string_view word, size_t ahead = 0) const;
  bool IsAnyWord(std::initializer_list<std::string_view> words) const;
  bool IsSymbol(char c) const;
  // Consumes the words only if all of them are next, as in Accept({"IF", "NOT", "EXISTS"}).
  bool Accept(std::initializer_list<std::string_view> words);
  bool Accept(std::string_view word) { return Accept({word}); }
  bool AcceptSymbol(char c);

  // An identifier, folded to lower case unless quoted.
  std::optional<std::string> Ident();
  // [catalog.][schema.]name
  std::optional<RelName> Relation();
  // One token, or a whole parenthesized group.
  void SkipTerm();
  // Identifiers of a parenthesized list, as in FOREIGN KEY (a, b); the cursor moves past it.
  std::vector<std::string> IdentList();
  // Whether `word` appears anywhere in [pos, end).
  bool Contains(std::string_view word) const;

 private:
  const std::vector<Token>& t_;
  size_t pos_;
  size_t end_;
};

}  // namespace pgk::migrate::lint_internal
