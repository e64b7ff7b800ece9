// SQL quoting. Identifiers that go into SQL text are always quoted with QuoteIdent;
// values never go into SQL text: they are passed as query parameters.
#pragma once

#include <string>
#include <string_view>

namespace pgk::pg {

// "name" with embedded quotes doubled; safe for any identifier, including ones with
// spaces, upper case or non-ASCII characters.
std::string QuoteIdent(std::string_view ident);
// "schema"."name"
std::string QuoteQualified(std::string_view schema, std::string_view name);
// 'text' with quotes doubled, for the few places the server accepts no parameter
// (e.g. COMMENT ON, ALTER SYSTEM). Rejects nothing: the result is always a valid literal.
std::string QuoteLiteral(std::string_view text);

}  // namespace pgk::pg
