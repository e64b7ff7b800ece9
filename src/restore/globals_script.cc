#include "restore/globals_script.h"

#include <algorithm>
#include <cctype>

// The splitter is the migration runner's lexer: psql's own rules for where a statement
// ends, which role names with ';' or '"' in them need.
#include "migrate/sql_split.h"

namespace pgk::restore {

namespace {

using migrate::Token;

bool IsWord(const Token& t, std::string_view word) {
  if (t.kind != Token::Kind::kWord || t.text.size() != word.size()) return false;
  return std::equal(t.text.begin(), t.text.end(), word.begin(),
                    [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; });
}

// An identifier as the server reads it: unquoted names fold to lower case.
std::string IdentifierName(const Token& t) {
  if (t.kind == Token::Kind::kQuotedIdentifier) return t.text;
  std::string s = t.text;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool IsIdentifier(const Token& t) { return t.kind == Token::Kind::kWord || t.kind == Token::Kind::kQuotedIdentifier; }

}  // namespace

Result<std::vector<GlobalsStatement>> ParseGlobalsScript(std::string_view sql, const std::string& origin) {
  std::vector<GlobalsStatement> out;
  for (const auto& st : migrate::SplitStatements(sql)) {
    auto tokens = migrate::Tokenize(st.text);
    GlobalsStatement g;
    g.text = st.text;
    g.line = st.line;
    auto at = [&](size_t i, std::string_view w) { return i < tokens.size() && IsWord(tokens[i], w); };
    bool tablespace = std::any_of(tokens.begin(), tokens.end(), [](const Token& t) { return IsWord(t, "TABLESPACE"); });
    std::string where = origin + " line " + std::to_string(st.line);
    if (at(0, "CREATE") && at(1, "ROLE")) {
      if (tokens.size() != 3 || !IsIdentifier(tokens[2])) {
        return Status::Malformed(where + ": CREATE ROLE is expected to name one role and nothing else",
                                 "the globals file was not written by pg_dumpall; restore from another backup");
      }
      g.kind = GlobalsStatement::Kind::kCreateRole;
      g.name = IdentifierName(tokens[2]);
    } else if (at(0, "CREATE") && at(1, "TABLESPACE")) {
      if (tokens.size() < 3 || !IsIdentifier(tokens[2])) {
        return Status::Malformed(where + ": CREATE TABLESPACE without a name");
      }
      g.kind = GlobalsStatement::Kind::kCreateTablespace;
      g.name = IdentifierName(tokens[2]);
    } else {
      g.kind = tablespace ? GlobalsStatement::Kind::kTablespace : GlobalsStatement::Kind::kRole;
    }
    bool password = std::any_of(tokens.begin(), tokens.end(), [](const Token& t) { return IsWord(t, "PASSWORD"); });
    if (password && g.kind != GlobalsStatement::Kind::kTablespace) {
      return Status::Malformed(where + " sets a role's password, which a globals backup never holds",
                               "pgkeeper refuses to change passwords from a backup; set them with "
                               "`pgkeeper roles reset-passwords`");
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace pgk::restore
