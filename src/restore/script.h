// The text of pg_dump's plain-SQL sections, made executable by the server: pg_dump
// (15.14+, 16.10+, 17.6+) writes psql meta-commands `\restrict KEY` / `\unrestrict KEY`
// around its output, which psql interprets and the server would reject. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace pgk::restore {

// `sql` without the `\restrict` and `\unrestrict` lines (replaced by empty lines, so that
// server error positions keep their line numbers). A meta-command is a line starting with a
// backslash outside string literals, quoted identifiers, dollar quotes and comments. Any
// other meta-command (`\connect`, `\i`, ...) is Malformed naming `origin` and the line:
// the script expects psql, and running it without that command would restore something else.
Result<std::string> StripPsqlMetaCommands(std::string_view sql, const std::string& origin);

// Splits a qualified name rendered with quote_ident rules (`public.t`, `"Odd Schema"."T"`)
// into its unquoted schema and name. Malformed when it is not schema.name.
Result<std::pair<std::string, std::string>> SplitQualifiedName(std::string_view qualified);

}  // namespace pgk::restore
