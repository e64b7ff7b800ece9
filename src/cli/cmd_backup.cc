// `pgkeeper backup`: a consistent, parallel, compressed (and, with a key, encrypted)
// logical backup of one database into a repository.
#include <unistd.h>

#include <memory>

#include "backup/logical.h"
#include "cli/backup_globals.h"
#include "cli/backup_physical.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "repo/repository.h"
#include "common/log.h"

namespace pgk::cli {

namespace {

struct BackupArgs {
  std::string repo;
  std::string key_file;
  int jobs = 0;
  std::string compression;
  int level = -1000;
  std::string tag;
  bool schema_only = false;
  bool data_only = false;
  bool include_unlogged = false;
  std::vector<std::string> tables;
  std::vector<std::string> exclude;
  std::string type = "logical";
  std::vector<std::string> exclude_databases;
  PhysicalBackupArgs physical;
};

}  // namespace

// Shared by the commands that open a repository: --repo, else repository.url.
Result<std::unique_ptr<repo::Repository>> OpenRepository(const Context& ctx, const std::string& repo_flag,
                                                         const std::string& key_file_flag, bool create) {
  std::string url = !repo_flag.empty() ? repo_flag : ctx.config.GetString("repository.url").value_or("");
  if (url.empty()) {
    return Status::InvalidArgument("no repository given",
                                   "pass --repo PATH|file:///PATH|s3://bucket/prefix or set repository.url in pgkeeper.toml");
  }
  std::string key_file = !key_file_flag.empty() ? key_file_flag : ctx.config.GetString("repository.key_file").value_or("");
  // Shared: these commands (backup, expire, drill, migrate's backup) may run side by side,
  // but never during a `repo rekey`, which holds the lock exclusively.
  return repo::Repository::Open({.url = url,
                                 .key_file = key_file,
                                 .create = create,
                                 .lock = repo::LockMode::kShared,
                                 .lock_purpose = create ? "backup" : "expire/drill"});
}

void SetupBackup(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<BackupArgs>();
  cmd->add_option("--repo", a->repo, "Repository: a path, file:///path or s3://bucket/prefix (default repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (PGKEEPER_ENCRYPTION_KEY wins when set)");
  cmd->add_option("-j,--jobs", a->jobs, "Parallel connections for table data (default backup.jobs, or 2)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--compression", a->compression, "zstd (default), lz4 or none")
      ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  cmd->add_option("--level", a->level, "Compression level (default: the algorithm's)");
  cmd->add_option("--tag", a->tag, "A label for this backup, e.g. daily or pre-migration");
  cmd->add_flag("--schema-only", a->schema_only, "Only the schema");
  cmd->add_flag("--data-only", a->data_only, "Only the data");
  cmd->add_flag("--include-unlogged", a->include_unlogged, "Also back up the data of unlogged tables");
  cmd->add_option("-t,--table", a->tables, "Only these tables (schema.table or table; repeatable)");
  cmd->add_option("--exclude-table", a->exclude, "Leave these tables' data out (repeatable)");
  cmd->add_option("--type", a->type,
                  "logical (one database, default), globals (roles and tablespaces, no passwords), cluster "
                  "(globals and every database) or physical (the data directory, for point-in-time recovery)")
      ->check(CLI::IsMember({"logical", "globals", "cluster", "physical"}));
  AddPhysicalBackupOptions(cmd, &a->physical);
  cmd->add_option("--exclude-database", a->exclude_databases, "--type cluster: leave this database out (repeatable)");
  cmd->footer("The backup exists once its manifest is written, last; an interrupted backup leaves nothing "
              "that restore or list would use, and `expire` removes its debris.");
  *handler = [a](Context& ctx) -> int {
    auto target = ctx.Target();
    if (!target.ok()) return ctx.Fail(target.status());
    auto repository = OpenRepository(ctx, a->repo, a->key_file, true);
    if (!repository.ok()) return ctx.Fail(repository.status());
    backup::LogicalOptions o;
    o.conninfo = target->conninfo;
    o.jobs = a->jobs > 0 ? a->jobs : static_cast<int>(ctx.config.GetInt("backup.jobs").value_or(2));
    std::string compression = !a->compression.empty() ? a->compression
                                                       : ctx.config.GetString("backup.compression").value_or("zstd");
    auto c = pipeline::ParseCompression(compression);
    if (!c.ok()) return ctx.Fail(c.status());
    o.compression = *c;
    o.compression_level = a->level != -1000 ? a->level
                                            : static_cast<int>(ctx.config.GetInt("backup.compression_level").value_or(0));
    o.tag = a->tag;
    o.schema_only = a->schema_only;
    o.data_only = a->data_only;
    o.include_unlogged = a->include_unlogged;
    o.part_bytes = ctx.config.GetInt("backup.table_part_mb").value_or(128) << 20;
    o.tables = a->tables;
    o.exclude_tables = a->exclude;
    ProgressBar bar(isatty(STDERR_FILENO) != 0 && !ctx.out.json() && log::CurrentVerbosity() != log::Verbosity::kQuiet,
                    "backup");
    auto progress = [&](const std::string& event) { bar.Event(event); };
    o.on_total_bytes = [&](int64_t total) { bar.SetTotal(total); };
    o.on_bytes = [&](int64_t n) { bar.Add(n); };
    if (a->type == "physical") {
      int rc = RunPhysicalBackupCommand(ctx, **repository, o, a->physical, progress);
      bar.Finish();
      return rc;
    }
    if (a->physical.Any()) {
      return ctx.Fail(Status::InvalidArgument("--mode, --pgdata, --source, --archive-timeout and --spread-checkpoint apply to "
                                              "--type physical"));
    }
    if (a->type != "logical" || !a->exclude_databases.empty()) {
      auto r = RunGlobalsOrClusterBackup(**repository, a->type, o, a->exclude_databases, progress);
      bar.Finish();
      return PrintGlobalsOrClusterBackup(ctx, (*repository)->Url(), r);
    }
    auto result = backup::RunLogicalBackup(**repository, o, progress);
    bar.Finish();
    if (!result.ok()) return ctx.Fail(result.status());
    const auto& m = result->manifest;
    int64_t rows = 0;
    for (const auto& [t, n] : m.row_counts) rows += n;
    double ratio = m.stored_bytes() > 0 ? static_cast<double>(m.original_bytes()) / static_cast<double>(m.stored_bytes()) : 0;
    if (ctx.out.json()) {
      nlohmann::json j = {{"id", m.id},
                          {"repository", (*repository)->Url()},
                          {"database", m.database},
                          {"tables", m.row_counts.size()},
                          {"rows", rows},
                          {"original_bytes", m.original_bytes()},
                          {"stored_bytes", m.stored_bytes()},
                          {"seconds", m.duration_s},
                          {"encrypted", m.cipher != "none"},
                          {"migration_version", m.migration_version ? nlohmann::json(*m.migration_version) : nlohmann::json(nullptr)}};
      if (!result->warning.empty()) j["warning"] = result->warning;
      ctx.out.Json(j);
    } else {
      char r[32];
      std::snprintf(r, sizeof r, "%.1fx", ratio);
      ctx.out.Line("backup " + m.id + " of " + m.database + ": " + std::to_string(m.row_counts.size()) + " tables, " +
                   FormatCount(rows) + " rows, " + FormatBytes(static_cast<int64_t>(m.original_bytes())) + " -> " +
                   FormatBytes(static_cast<int64_t>(m.stored_bytes())) + " (" + r + (m.cipher != "none" ? ", encrypted" : "") +
                   ") in " + FormatDuration(m.duration_s) + " to " + (*repository)->Url());
      if (!result->warning.empty()) ctx.out.Line(ctx.out.Yellow("warning: ") + result->warning);
    }
    return 0;
  };
}

}  // namespace pgk::cli
