// `backup --type physical`: options, run, summary.
#include "cli/backup_physical.h"

#include "physical/backup.h"

namespace pgk::cli {

void AddPhysicalBackupOptions(CLI::App* cmd, PhysicalBackupArgs* a) {
  cmd->add_option("--mode", a->mode,
                  "--type physical: full, diff (files changed since the last full) or incr (since the last physical "
                  "backup; default backup.mode, else incr). Without an earlier full backup: full")
      ->check(CLI::IsMember({"full", "diff", "incr"}));
  cmd->add_option("--pgdata", a->pgdata, "--type physical: the data directory (default: the server's data_directory)");
  cmd->add_option("--source", a->source,
                  "--type physical: pgdata (read the data directory here), replication (BASE_BACKUP over a replication "
                  "connection: the server may be on another host) or auto (pgdata when the server's data directory "
                  "is readable here, else replication; default backup.source, else auto)")
      ->check(CLI::IsMember({"auto", "pgdata", "replication"}));
  cmd->add_option("--archive-timeout", a->archive_timeout_s,
                  "--type physical: seconds to wait for the backup's WAL to be archived (default backup.archive_timeout, "
                  "else 60)")
      ->check(CLI::Range(1, 86400));
  cmd->add_flag("--spread-checkpoint", a->spread_checkpoint,
                "--type physical: let the starting checkpoint spread its I/O (the backup starts later)");
}

int RunPhysicalBackupCommand(const Context& ctx, repo::Repository& repository, const backup::LogicalOptions& common,
                             const PhysicalBackupArgs& a, const std::function<void(const std::string&)>& progress) {
  if (common.schema_only || common.data_only || common.include_unlogged || !common.tables.empty() ||
      !common.exclude_tables.empty()) {
    return ctx.Fail(Status::InvalidArgument("--schema-only, --data-only, --include-unlogged, --table and "
                                            "--exclude-table apply to logical backups",
                                            "a physical backup copies the whole cluster"));
  }
  physical::PhysicalBackupOptions o;
  o.conninfo = common.conninfo;
  o.pgdata = a.pgdata;
  o.source = !a.source.empty() ? a.source : ctx.config.GetString("backup.source").value_or("auto");
  o.mode = !a.mode.empty() ? a.mode : ctx.config.GetString("backup.mode").value_or("incr");
  o.jobs = common.jobs;
  o.compression = common.compression;
  o.compression_level = common.compression_level;
  o.tag = common.tag;
  o.fast_checkpoint = !a.spread_checkpoint;
  o.archive_timeout_s = a.archive_timeout_s > 0 ? a.archive_timeout_s
                                                : static_cast<int>(ctx.config.GetInt("backup.archive_timeout").value_or(60));
  auto result = physical::RunPhysicalBackup(repository, o, progress);
  if (!result.ok()) return ctx.Fail(result.status());
  const auto& r = *result;
  const auto& m = r.manifest;
  const auto& p = *m.physical;
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : r.page_errors) errors.push_back({{"file", e.file}, {"blocks", e.blocks}});
  if (ctx.out.json()) {
    nlohmann::json j = {{"id", m.id},
                        {"type", m.type},
                        {"mode", p.mode},
                        {"reference", p.reference.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.reference)},
                        {"repository", repository.Url()},
                        {"pgdata", p.pgdata},
                        {"source", p.source},
                        {"source_reason", r.source_reason},
                        {"from_standby", p.from_standby},
                        {"files", m.files.size()},
                        {"files_copied", r.files_copied},
                        {"files_referenced", r.files_referenced},
                        {"original_bytes", m.original_bytes()},
                        {"bytes_copied", r.bytes_copied},
                        {"bytes_referenced", r.bytes_referenced},
                        {"stored_bytes", m.stored_bytes()},
                        {"start_lsn", p.start_lsn},
                        {"stop_lsn", p.stop_lsn},
                        {"timeline", p.timeline},
                        {"wal", {p.start_wal, p.stop_wal}},
                        {"data_checksums", p.data_checksums},
                        {"page_errors", errors},
                        {"seconds", m.duration_s},
                        {"encrypted", m.cipher != "none"}};
    if (!r.note.empty()) j["note"] = r.note;
    ctx.out.Json(j);
  } else {
    if (!r.note.empty()) ctx.out.Line(ctx.out.Dim(r.note));
    ctx.out.Line(ctx.out.Dim("source: " + r.source + " (" + r.source_reason + ")" +
                             (p.from_standby ? "; taken from a standby" : "")));
    std::string what = p.mode == "full" ? "full" : p.mode + " (on " + p.reference + ")";
    ctx.out.Line("physical backup " + m.id + ", " + what + ": " + std::to_string(m.files.size()) + " files, " +
                 FormatBytes(static_cast<int64_t>(m.original_bytes())) + "; copied " + std::to_string(r.files_copied) +
                 " (" + FormatBytes(static_cast<int64_t>(r.bytes_copied)) + " -> " +
                 FormatBytes(static_cast<int64_t>(m.stored_bytes())) + (m.cipher != "none" ? ", encrypted" : "") +
                 "), referenced " + std::to_string(r.files_referenced) + ", in " + FormatDuration(m.duration_s));
    ctx.out.Line("  WAL " + p.start_wal + " .. " + p.stop_wal + " archived; consistent at " + p.stop_lsn +
                 " on timeline " + std::to_string(p.timeline) + "; to " + repository.Url());
    if (!p.data_checksums) ctx.out.Line(ctx.out.Dim("  the cluster has no data checksums: pages were not checked"));
  }
  if (!r.page_errors.empty()) {
    std::string list;
    size_t n = 0;
    for (const auto& e : r.page_errors) {
      std::string blocks;
      for (uint32_t b : e.blocks) blocks += (blocks.empty() ? "" : ", ") + std::to_string(b);
      list += (list.empty() ? "" : "; ") + e.file + " block" + (e.blocks.size() > 1 ? "s " : " ") + blocks;
      n += e.blocks.size();
    }
    Status problem = Status::Problem(std::to_string(n) + " page(s) failed their checksum in the source cluster: " + list,
                                     "the backup " + m.id + " is complete and copies them as they are; check the "
                                     "cluster with pg_amcheck and restore the damaged relations from an older backup");
    if (ctx.out.json()) return problem.exit_code();
    return ctx.Fail(problem);
  }
  return 0;
}

}  // namespace pgk::cli
