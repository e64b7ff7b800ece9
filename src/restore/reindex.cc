#include "restore/reindex.h"

#include "pg/quote.h"

namespace pgk::restore {

Result<int> ReindexDatabase(pg::Connection& conn) {
  PGK_ASSIGN_OR_RETURN(
      std::string n, conn.QueryValue("SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c "
                                     "ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                     "WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"));
  // Index builds need no statement timeout either (the load sessions' settings).
  PGK_RETURN_IF_ERROR(conn.Exec("SET statement_timeout = 0; SET lock_timeout = 0"));
  PGK_RETURN_IF_ERROR(conn.Exec("REINDEX DATABASE " + pg::QuoteIdent(conn.database())));
  return std::stoi(n);
}

Result<int> ReindexTable(pg::Connection& conn, const std::string& table) {
  PGK_ASSIGN_OR_RETURN(
      std::string n,
      conn.QueryValue("SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = $1::regclass", {table}));
  PGK_RETURN_IF_ERROR(conn.Exec("REINDEX TABLE " + table));
  return std::stoi(n);
}

}  // namespace pgk::restore
