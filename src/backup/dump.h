// The parts of a logical backup that are not table data: pg_dump's schema sections,
// sequence values and large objects, all read in the backup's exported snapshot.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"
#include "pipeline/sink.h"

namespace pgk::backup {

// The relations a backup covers: user schemas only, nothing that belongs to an extension
// (its CREATE EXTENSION recreates those). A WHERE fragment over pg_class c, pg_namespace n.
inline constexpr const char kUserRelations[] =
    " n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'"
    " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
    " AND d.deptype = 'e') ";

// Streams `pg_dump --section=<section> --snapshot=<snapshot>` (plain SQL) into `sink`.
// The password, if any, reaches pg_dump through a private PGPASSFILE, never its argv.
Status RunPgDump(const std::string& conninfo, const std::string& snapshot, const std::string& section,
                 const std::vector<std::string>& tables, pipeline::Sink& sink);

// `SELECT pg_catalog.setval(...)` statements for every user sequence, from `conn`'s
// snapshot. Returns how many.
Result<int> DumpSequences(pg::Connection& conn, pipeline::Sink& sink);

// Large objects as records [u32 LE oid][u64 LE length][bytes], read in 1 MiB pieces.
Result<int> DumpLargeObjects(pg::Connection& conn, pipeline::Sink& sink);

}  // namespace pgk::backup
