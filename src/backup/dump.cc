#include "backup/dump.h"

#include "backup/pg_tool.h"
#include "pg/quote.h"

namespace pgk::backup {

Status RunPgDump(const std::string& conninfo, const std::string& snapshot, const std::string& section,
                 const std::vector<std::string>& tables, pipeline::Sink& sink) {
  PgToolRun run{.tool = "pg_dump",
                .conninfo = conninfo,
                .args = {"--section=" + section, "--snapshot=" + snapshot, "--format=plain", "--no-sync"},
                .label = "pg_dump --section=" + section,
                .hint = "pg_dump must be able to read every object; see its message above"};
  for (const auto& t : tables) run.args.push_back("--table=" + t);
  return RunPgTool(run, sink);
}

Result<int> DumpSequences(pg::Connection& conn, pipeline::Sink& sink) {
  PGK_ASSIGN_OR_RETURN(auto seqs, conn.Query(std::string("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
                                                         "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                                         "WHERE c.relkind = 'S' AND") +
                                             kUserRelations + "ORDER BY 1"));
  for (int i = 0; i < seqs.rows(); ++i) {
    std::string q = seqs.GetString(i, 0);
    PGK_ASSIGN_OR_RETURN(auto v, conn.Query("SELECT last_value, is_called FROM " + q));
    std::string line = "SELECT pg_catalog.setval(" + pg::QuoteLiteral(q) + ", " + v.GetString(0, 0) + ", " +
                       (v.GetBool(0, 1) ? "true" : "false") + ");\n";
    PGK_RETURN_IF_ERROR(sink.Write(line));
  }
  return seqs.rows();
}

Result<int> DumpLargeObjects(pg::Connection& conn, pipeline::Sink& sink) {
  PGK_ASSIGN_OR_RETURN(auto oids, conn.Query("SELECT oid FROM pg_largeobject_metadata ORDER BY oid"));
  constexpr int64_t kPiece = 1 << 20;
  for (int i = 0; i < oids.rows(); ++i) {
    std::string oid = oids.GetString(i, 0);
    // Length by seeking to the end: pg_largeobject itself is readable by superusers only.
    PGK_ASSIGN_OR_RETURN(auto len, conn.QueryValue("SELECT lo_lseek64(lo_open($1::oid, 262144), 0, 2)", {oid}));
    uint32_t oid_n = static_cast<uint32_t>(std::stoul(oid));
    uint64_t length = std::stoull(len);
    char header[12];
    for (int b = 0; b < 4; ++b) header[b] = static_cast<char>((oid_n >> (8 * b)) & 0xff);
    for (int b = 0; b < 8; ++b) header[4 + b] = static_cast<char>((length >> (8 * b)) & 0xff);
    PGK_RETURN_IF_ERROR(sink.Write(std::string_view(header, sizeof header)));
    for (uint64_t off = 0; off < length; off += kPiece) {
      // Binary result: the bytes as they are, no hex round trip.
      const char* values[3];
      std::string off_s = std::to_string(off), piece_s = std::to_string(kPiece);
      values[0] = oid.c_str();
      values[1] = off_s.c_str();
      values[2] = piece_s.c_str();
      PGresult* res = PQexecParams(conn.raw(), "SELECT lo_get($1::oid, $2::bigint, $3::int)", 3, nullptr, values,
                                   nullptr, nullptr, 1);
      if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn.raw());
        if (res) PQclear(res);
        return Status::Query("cannot read large object " + oid + ": " + msg);
      }
      Status s = sink.Write(std::string_view(PQgetvalue(res, 0, 0), static_cast<size_t>(PQgetlength(res, 0, 0))));
      PQclear(res);
      PGK_RETURN_IF_ERROR(s);
    }
  }
  return oids.rows();
}

}  // namespace pgk::backup
