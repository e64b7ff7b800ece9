// Splitting migration scripts into statements without a server. This is a lexer that knows
// PostgreSQL's quoting rules (the same ones psql uses to decide where a statement ends), not
// a parser: it never rejects input, and unterminated quotes or comments run to the end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pgk::migrate {

struct Statement {
  // The statement without the terminating ';', leading/trailing whitespace trimmed; comments
  // inside are kept. It starts at the first code character, so comments before the statement
  // are not part of it.
  std::string text;
  int line = 1;       // 1-based line in the script where the statement's first non-whitespace, non-comment character is
  size_t offset = 0;  // byte offset of that character in the script
};

// Splits a SQL script into top-level statements the way psql does: semicolons inside
// '...' strings (with '' escapes), E'...' strings (backslash escapes), "quoted identifiers",
// $$...$$ and $tag$...$tag$ dollar quotes, -- line comments, /* nested */ block comments and
// parentheses do not end a statement. SQL-standard function bodies `BEGIN ATOMIC ... END`
// (PostgreSQL 14+) are one statement: inside such a body, CASE ... END pairs must not end it
// early. Statements that are empty or only comments are dropped. Assumes
// standard_conforming_strings = on (the default since PostgreSQL 9.1).
std::vector<Statement> SplitStatements(std::string_view sql);

// The statement with comments removed, whitespace collapsed to single spaces, and outside of
// quotes/dollar-quotes converted to upper case (quoted text and identifiers keep their case
// and their whitespace). Used to match keywords.
std::string NormalizeForMatching(std::string_view statement);

// One lexical token of a statement. Comments are not tokens.
struct Token {
  enum class Kind {
    kWord,              // keyword or unquoted identifier, as written (compare case-insensitively)
    kQuotedIdentifier,  // text is the name without the quotes, "" unescaped
    kString,            // '...', E'...' or a dollar-quoted string, as written with its quotes
    kNumber,
    kSymbol,  // one punctuation or operator character
  };
  Kind kind = Kind::kSymbol;
  std::string text;
  size_t begin = 0;  // byte range of the token in the tokenized text
  size_t end = 0;
};

// Tokens of one statement (or of any SQL text), for callers that match keyword sequences:
// keywords inside strings, dollar-quoted bodies and comments never appear as kWord tokens.
std::vector<Token> Tokenize(std::string_view sql);

}  // namespace pgk::migrate
