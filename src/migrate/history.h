// The migration history table (default public.schema_migrations). One row per applied
// version:
//
//   version bigint PRIMARY KEY     the migration's version
//   name text                      its title, from the file name
//   checksum text                  "sha256:<hex>" of the up file; "flyway-crc32:<n>" for
//                                  rows imported from Flyway (validated with Flyway's CRC32)
//   applied_at timestamptz         when it finished (or started, for failed rows)
//   duration_ms bigint
//   applied_by text                current_user
//   applied_host text              the client's host name
//   success boolean                false: failed or interrupted ("dirty"); every write
//                                  command refuses until `migrate force`
//   no_transaction boolean         ran outside a transaction
//   source text                    pgkeeper, golang-migrate, simple, flyway, dbmate, baseline, force
//   error text                     the error of a failed run
//
// Existing tables in golang-migrate's shape (version bigint, dirty boolean; one row) and
// the simple shape (version text primary key [, applied_at timestamptz]; one row per
// version — also dbmate's) are recognised and upgraded in place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "migrate/files.h"
#include "pg/connection.h"

namespace pgk::migrate {

struct TableName {
  std::string schema = "public";
  std::string table = "schema_migrations";
  std::string Quoted() const;
  std::string Display() const { return schema + "." + table; }
};
// "schema.table" or "table" (schema public); quoted parts may contain dots.
Result<TableName> ParseTableName(const std::string& text);

enum class Shape { kMissing, kPgkeeper, kGolangMigrate, kSimple, kUnknown };

struct AppliedMigration {
  uint64_t version = 0;
  std::string name;
  std::string checksum;
  std::string applied_at;
  int64_t duration_ms = 0;
  std::string applied_by;
  std::string applied_host;
  bool success = true;
  bool no_transaction = false;
  std::string source;
  std::string error;
};

class History {
 public:
  History(pg::Connection& conn, TableName table) : conn_(conn), table_(std::move(table)) {}

  Result<Shape> DetectShape();
  // Creates the table, or adopts a golang-migrate / simple table by upgrading it in place
  // (one transaction). `notes` receives what was found and done, for the user.
  Status Ensure(const MigrationSet& files, std::vector<std::string>* notes);
  // Rows ordered by version. An absent table reads as empty.
  Result<std::vector<AppliedMigration>> Load();

  // Row writes; the caller owns the transaction.
  Status Insert(const AppliedMigration& row);
  Status MarkFinished(uint64_t version, bool success, int64_t duration_ms, const std::string& error);
  Status Delete(uint64_t version);
  Status DeleteAbove(uint64_t version);

  const TableName& table() const { return table_; }

 private:
  Status Create();
  Status AdoptGolangMigrate(const MigrationSet& files, std::vector<std::string>* notes);
  Status AdoptSimple(const MigrationSet& files, std::vector<std::string>* notes);

  pg::Connection& conn_;
  TableName table_;
};

// The host name recorded in applied_host and shown in lock messages.
std::string LocalHostName();

}  // namespace pgk::migrate
