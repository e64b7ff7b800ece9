// Secret masking. Every string that may reach a terminal, a log, JSON output or an error
// message passes through MaskSecrets first, so a password typed into a URL, a conninfo
// string or a SQL statement never appears anywhere pgkeeper prints.
#pragma once

#include <string>
#include <string_view>

namespace pgk {

// Replaces passwords with "***":
//   postgresql://user:secret@host/db   -> postgresql://user:***@host/db
//   host=h password=secret             -> host=h password=***
//   ?password=secret / &password=...   -> ?password=***
//   PASSWORD 'secret' (SQL)            -> PASSWORD '***'
//   PGPASSWORD=secret                  -> PGPASSWORD=***
std::string MaskSecrets(std::string_view text);

}  // namespace pgk
