#include "dr/export.h"

#include <algorithm>
#include <filesystem>

#include "common/fs.h"
#include "pg/connection.h"
#include "pg/copy_relay.h"
#include "pg/quote.h"

namespace pgk::dr {

namespace {

// Both sessions must render values identically for the digests to compare: pg_dump's
// settings (ConnectOptions::portable_output) plus one time zone for timestamptz.
Result<pg::Connection> Open(const std::string& conninfo) {
  PGK_ASSIGN_OR_RETURN(auto conn,
                       pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-dr", .portable_output = true}));
  PGK_RETURN_IF_ERROR(conn.Exec("SET TimeZone = 'UTC'; SET bytea_output = 'hex'"));
  return conn;
}

struct Split {
  std::string schema, name;
};

}  // namespace

Result<ExportResult> ExportLostRows(const ExportOptions& o) {
  PGK_ASSIGN_OR_RETURN(auto side, Open(o.side_conninfo));
  PGK_ASSIGN_OR_RETURN(auto live, Open(o.live_conninfo));
  std::string regclass_text =
      o.table.find('.') == std::string::npos && o.table.find('"') == std::string::npos ? "public." + o.table : o.table;
  PGK_ASSIGN_OR_RETURN(auto found, side.Query("SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "
                                              "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                              "WHERE c.oid = to_regclass($1)",
                                              {regclass_text}));
  if (found.rows() == 0) {
    return Status::NotFound("table " + o.table + " does not exist in the restored copy",
                            "name it as `pgkeeper backups show` does, e.g. public.orders");
  }
  std::string oid = found.GetString(0, 0);
  ExportResult r;
  Split names{found.GetString(0, 1), found.GetString(0, 2)};
  std::string qualified = pg::QuoteQualified(names.schema, names.name);
  r.table = names.schema + "." + names.name;

  PGK_ASSIGN_OR_RETURN(auto pk, side.Query("SELECT a.attname FROM pg_catalog.pg_index i "
                                           "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
                                           "AND a.attnum = ANY (i.indkey) "
                                           "WHERE i.indrelid = $1::oid AND i.indisprimary "
                                           "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                                           {oid}));
  std::string key_expr;  // over alias t
  std::string order_by;
  for (int i = 0; i < pk.rows(); ++i) {
    std::string col = "t." + pg::QuoteIdent(pk.GetString(i, 0));
    key_expr += (key_expr.empty() ? "" : ", ") + col;
    order_by += (order_by.empty() ? "" : ", ") + col;
    r.key += (r.key.empty() ? "" : ", ") + pk.GetString(i, 0);
  }
  bool keyed = !key_expr.empty();
  key_expr = keyed ? "ROW(" + key_expr + ")::text" : "md5(t::text)";

  PGK_ASSIGN_OR_RETURN(auto live_exists, live.QueryValue("SELECT to_regclass($1) IS NOT NULL", {qualified}));
  r.live_table_missing = live_exists != "t";

  PGK_RETURN_IF_ERROR(side.Exec("CREATE TEMPORARY TABLE pgkeeper_dr_live (k text, h text)"));
  if (!r.live_table_missing) {
    // The live table's (key, digest) pairs, streamed from the live server into the side
    // one: memory holds a few MB of them, whatever the table's size.
    PGK_RETURN_IF_ERROR(pg::RelayCopy(live,
                                      "COPY (SELECT " + key_expr + ", md5(t::text) FROM " + qualified + " t) TO STDOUT",
                                      side, "COPY pg_temp.pgkeeper_dr_live FROM STDIN")
                            .status());
    PGK_RETURN_IF_ERROR(side.Exec("CREATE INDEX ON pg_temp.pgkeeper_dr_live (k, h); ANALYZE pg_temp.pgkeeper_dr_live"));
  }
  std::string lost =
      "NOT EXISTS (SELECT 1 FROM pg_temp.pgkeeper_dr_live l WHERE l.k = " + key_expr + " AND l.h = md5(t::text))";
  std::string key_known = "EXISTS (SELECT 1 FROM pg_temp.pgkeeper_dr_live l WHERE l.k = " + key_expr + ")";
  PGK_ASSIGN_OR_RETURN(auto counts,
                       side.Query("SELECT count(*) FILTER (WHERE NOT " + key_known + "), count(*) FILTER (WHERE " +
                                  key_known + ") FROM " + qualified + " t WHERE " + lost));
  r.missing = counts.GetInt(0, 0);
  r.changed = keyed ? counts.GetInt(0, 1) : 0;
  if (!keyed) r.missing += counts.GetInt(0, 1);

  PGK_RETURN_IF_ERROR(fs::MakeDirs(o.dir));
  r.file = (std::filesystem::path(o.dir) / (names.schema + "." + names.name + ".csv")).string();
  std::string csv;
  PGK_RETURN_IF_ERROR(side.CopyOut("COPY (SELECT t.* FROM " + qualified + " t WHERE " + lost +
                                       (order_by.empty() ? "" : " ORDER BY " + order_by) +
                                       ") TO STDOUT WITH (FORMAT csv, HEADER)",
                                   [&](std::string_view chunk) {
                                     csv.append(chunk);
                                     return Status::Ok();
                                   }));
  r.rows = r.missing + r.changed;
  PGK_RETURN_IF_ERROR(fs::WriteFile(r.file, csv));
  PGK_RETURN_IF_ERROR(side.Exec("DROP TABLE pg_temp.pgkeeper_dr_live"));
  return r;
}

}  // namespace pgk::dr
