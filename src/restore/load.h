// Moving one stored backup file into a database: the steps restore orchestrates. Each
// streams from the verifying read pipeline with bounded memory, except the SQL scripts
// (schema and sequences), which are read whole because they are executed as one script.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "pg/connection.h"
#include "pipeline/key.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::restore {

inline constexpr size_t kCopyChunk = 256 << 10;
inline constexpr size_t kLargeObjectChunk = 1 << 20;

// The whole decoded file; the pipeline has verified it when this returns OK.
Result<std::string> ReadWholeFile(repo::Repository& repo, const repo::Manifest& m, const repo::ManifestFile& f,
                                  const pipeline::Key* data_key);

// Executes a schema or sequences script (psql meta-commands stripped, see script.h) as
// one multi-statement query: the server runs it in one implicit transaction, so a failing
// statement leaves nothing of the script behind.
Status ApplyScript(pg::Connection& conn, repo::Repository& repo, const repo::Manifest& m, const repo::ManifestFile& f,
                   const pipeline::Key* data_key);

// " (a, b, \"C\")": the file's column list for COPY, quoted; "" when the manifest
// records none (older backups: the columns in table order).
std::string CopyColumnList(const repo::ManifestFile& f);

// COPY `table` FROM STDIN fed with the file in kCopyChunk pieces; returns the rows the
// server stored. When `stop` becomes true (another load failed), the COPY is abandoned with
// an Interrupted error. A corrupted file fails the COPY when the pipeline reports it, at
// the latest at its end, so a COPY that succeeded loaded verified data. `freeze` adds
// COPY's FREEZE option: the caller must have created or truncated the table in the
// current transaction.
Result<int64_t> CopyIntoTable(pg::Connection& conn, const std::string& table, repo::Repository& repo,
                              const repo::Manifest& m, const repo::ManifestFile& f, const pipeline::Key* data_key,
                              const std::atomic<bool>* stop = nullptr,
                              const std::function<void(int64_t)>* on_bytes = nullptr, bool freeze = false);

// Writes the large-objects file ([u32 LE oid][u64 LE length][bytes] records) into the
// large objects with those oids, creating any that the schema did not create, in one
// transaction. Returns how many objects were written.
Result<int64_t> LoadLargeObjects(pg::Connection& conn, repo::Repository& repo, const repo::Manifest& m,
                                 const repo::ManifestFile& f, const pipeline::Key* data_key);

}  // namespace pgk::restore
