// Migration files on disk. Layouts understood (mixable in one directory):
//   golang-migrate   {version}_{title}.up.sql + {version}_{title}.down.sql
//   up-only          {version}_{title}.sql                (migrate.sh style; cannot be rolled back)
//   dbmate           {version}_{title}.sql with `-- migrate:up` / `-- migrate:down` sections
//   Flyway           V{version}__{title}.sql (+ U{version}__{title}.sql as its down)
// Versions are unsigned integers (leading zeros allowed, ordered numerically).
// A first line `-- pgkeeper:no-transaction` runs that file outside a transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk::migrate {

enum class Layout { kGolangMigrate, kUpOnly, kDbmate, kFlyway };
const char* LayoutName(Layout l);

struct MigrationFile {
  uint64_t version = 0;
  std::string version_text;  // as written in the file name, e.g. "000042"
  std::string title;         // "add_users"
  Layout layout = Layout::kGolangMigrate;
  std::string up_path;
  std::string down_path;  // empty when there is no down migration
  std::string up_sql;
  std::string down_sql;
  bool up_no_transaction = false;
  bool down_no_transaction = false;
  std::string checksum;  // "sha256:<hex>" of the up file's bytes
  int32_t flyway_checksum = 0;

  bool has_down() const { return !down_path.empty(); }
  std::string up_file_name() const;
  std::string DisplayName() const { return version_text + "_" + title; }
};

struct MigrationSet {
  std::string dir;
  std::vector<MigrationFile> files;  // ordered by version
  const MigrationFile* Find(uint64_t version) const;
  // Zero-padding width shared by the existing files (0 if none are padded).
  int PaddingWidth() const;
};

// Reads every migration in `dir`. Any bad name, duplicate version, orphan down file or
// unreadable file is reported (all of them, each with its file name) as one Malformed
// error, and nothing is returned.
Result<MigrationSet> LoadMigrations(const std::string& dir);

// True if the SQL starts (ignoring blank lines) with the no-transaction directive.
bool HasNoTransactionDirective(const std::string& sql);

}  // namespace pgk::migrate
