// `pgkeeper backups list|show`: the repository's catalog, read from the manifests only
// (no file is read back; `verify` does that). `backups export`: a backup as a plain SQL
// script (backups_export.h).
#include <cstdio>
#include <memory>

#include "cli/backups_export.h"
#include "cli/commands.h"
#include "restore/open.h"

namespace pgk::cli {

namespace {

struct BackupsArgs {
  std::string repo;
  std::string key_file;
  std::string id = "latest";
  std::string dir;
};

std::string Ratio(const repo::Manifest& m) {
  if (m.stored_bytes() == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fx",
                static_cast<double>(m.original_bytes()) / static_cast<double>(m.stored_bytes()));
  return buf;
}

// The database column: a cluster backup holds several, a globals backup none.
std::string DatabaseOf(const repo::Manifest& m) {
  if (m.type == "cluster") return std::to_string(m.databases.size()) + " databases";
  if (m.physical) return "all (" + m.physical->mode + ")";
  return m.database.empty() ? "-" : m.database;
}

std::string Migration(const repo::Manifest& m) {
  return m.migration_version ? std::to_string(*m.migration_version) : "-";
}

// What is encrypted and by which key, so that it shows without the key.
std::string Encryption(const repo::Manifest& m) {
  if (m.wrapped_data_key.empty()) return m.cipher;
  std::string s = m.cipher + ", data key wrapped by key " + (m.key_id.empty() ? "(no id)" : m.key_id);
  if (!m.rekey_key_id.empty()) s += " and " + m.rekey_key_id + " (unfinished rekey)";
  return s;
}

nlohmann::json SummaryJson(const repo::Manifest& m) {
  return {{"id", m.id},
          {"type", m.type},
          {"database", m.database},
          {"tag", m.tag},
          {"start_time", m.start_time},
          {"stop_time", m.stop_time},
          {"duration_seconds", m.duration_s},
          {"original_bytes", m.original_bytes()},
          {"stored_bytes", m.stored_bytes()},
          {"migration_version", m.migration_version ? nlohmann::json(*m.migration_version) : nlohmann::json(nullptr)},
          {"files", m.files.size()},
          {"cipher", m.cipher},
          {"key_id", m.key_id},
          {"compression", m.compression},
          {"options", m.options}};
}

int RunList(Context& ctx, repo::Repository& repo) {
  std::vector<std::string> problems;
  auto backups = repo.ListBackups(&problems);
  if (!backups.ok()) return ctx.Fail(backups.status());
  auto unfinished = repo.ListUnfinished();
  if (!unfinished.ok()) return ctx.Fail(unfinished.status());
  const Output& out = ctx.out;
  if (out.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : *backups) list.push_back(SummaryJson(m));
    out.Json({{"repository", repo.Url()}, {"backups", list}, {"unfinished", *unfinished}, {"damaged", problems}});
  } else {
    out.Line("backups in " + repo.Url());
    if (repo.config().encrypted) {
      out.Line(out.Dim("encrypted (key " + repo.config().key.id + "): every file's data is; the manifests listed here are not"));
    }
    out.Line();
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : *backups) {
      rows.push_back({m.id, m.type, DatabaseOf(m), m.tag.empty() ? "-" : m.tag, m.start_time, FormatDuration(m.duration_s),
                      FormatBytes(static_cast<int64_t>(m.original_bytes())),
                      FormatBytes(static_cast<int64_t>(m.stored_bytes())), Ratio(m), Migration(m),
                      std::to_string(m.files.size())});
    }
    if (rows.empty()) {
      out.Line("  no backups");
    } else {
      out.Print(RenderTable({{"id"},
                             {"type"},
                             {"database"},
                             {"tag"},
                             {"start"},
                             {"took", true},
                             {"size", true},
                             {"stored", true},
                             {"ratio", true},
                             {"migration", true},
                             {"files", true}},
                            rows));
    }
    if (!unfinished->empty()) {
      out.Line();
      out.Line(out.Yellow("unfinished (removed by expire):"));
      for (const auto& id : *unfinished) out.Line("  " + id);
    }
    for (const auto& p : problems) out.Line(out.Red("damaged: ") + p);
  }
  if (!problems.empty()) {
    Status s = Status::Problem(std::to_string(problems.size()) + " damaged manifest(s) in " + repo.Url(),
                               "those backups cannot be restored; `pgkeeper expire` does not remove them");
    if (out.json()) return s.exit_code();
    return ctx.Fail(s);
  }
  return 0;
}

int RunShow(Context& ctx, repo::Repository& repo, const std::string& id) {
  auto m = repo.LoadBackup(id);
  if (!m.ok()) return ctx.Fail(m.status());
  const Output& out = ctx.out;
  if (out.json()) {
    out.Json(nlohmann::json::parse(repo::SerializeManifest(*m)));
    return 0;
  }
  auto field = [&](const std::string& name, const std::string& value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%-20s", (name + ":").c_str());
    out.Line(std::string(buf) + value);
  };
  out.Line(out.Bold("backup " + m->id));
  field("type", m->type);
  field("database", DatabaseOf(*m));
  field("tag", m->tag.empty() ? "-" : m->tag);
  field("server version", m->server_version);
  field("pgkeeper version", m->pgkeeper_version);
  field("started", m->start_time);
  field("stopped", m->stop_time);
  field("took", FormatDuration(m->duration_s));
  field("migration version", Migration(*m));
  field("compression", m->compression + (m->compression_level ? " level " + std::to_string(m->compression_level) : ""));
  field("encryption", Encryption(*m));
  std::string options;
  for (const auto& o : m->options) options += (options.empty() ? "" : ", ") + o;
  field("options", options.empty() ? "-" : options);
  field("size", FormatBytes(static_cast<int64_t>(m->original_bytes())) + ", stored " +
                    FormatBytes(static_cast<int64_t>(m->stored_bytes())) + " (" + Ratio(*m) + ")");
  if (const auto& p = m->physical) {
    field("mode", p->mode + (p->reference.empty() ? "" : ", compared with " + p->reference));
    field("cluster", p->system_identifier + ", timeline " + std::to_string(p->timeline) + ", " + p->pgdata);
    field("WAL", p->start_lsn + " .. " + p->stop_lsn + " (" + p->start_wal + " .. " + p->stop_wal + ")");
  }
  out.Line();
  out.Line(out.Bold("files"));
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : m->files) {
    rows.push_back({f.name, f.kind, f.table.empty() ? "-" : f.table, f.rows < 0 ? "-" : FormatCount(f.rows),
                    FormatBytes(static_cast<int64_t>(f.original_size)),
                    FormatBytes(static_cast<int64_t>(f.stored_size)), f.compression, f.cipher});
  }
  out.Print(RenderTable(
      {{"name"}, {"kind"}, {"table"}, {"rows", true}, {"size", true}, {"stored", true}, {"compression"}, {"cipher"}},
      rows));
  if (!m->databases.empty()) {
    out.Line();
    out.Line(out.Bold("databases"));
    rows.clear();
    for (const auto& d : m->databases) {
      int64_t n = 0;
      for (const auto& [table, count] : d.row_counts) n += count;
      rows.push_back({d.name, d.dir, std::to_string(d.row_counts.size()), FormatCount(n),
                      d.migration_version ? std::to_string(*d.migration_version) : "-"});
    }
    out.Print(RenderTable({{"database"}, {"files under"}, {"tables", true}, {"rows", true}, {"migration", true}}, rows));
  }
  if (!m->row_counts.empty()) {
    out.Line();
    out.Line(out.Bold("row counts"));
    rows.clear();
    for (const auto& [table, n] : m->row_counts) rows.push_back({table, FormatCount(n)});
    out.Print(RenderTable({{"table"}, {"rows", true}}, rows));
  }
  return 0;
}

int RunExport(Context& ctx, repo::Repository& repo, const std::string& id, const std::string& dir) {
  auto m = repo.LoadBackup(id);
  if (!m.ok()) return ctx.Fail(m.status());
  auto key = repo.DataKey(*m);
  if (!key.ok()) return ctx.Fail(key.status());
  auto r = ExportBackup(repo, *m, *key ? &**key : nullptr, dir);
  if (!r.ok()) return ctx.Fail(r.status().WithContext("exporting backup " + m->id));
  const Output& out = ctx.out;
  if (out.json()) {
    out.Json({{"backup", m->id},
              {"path", r->path},
              {"bytes", r->bytes},
              {"tables", r->tables},
              {"large_objects", r->large_objects}});
    return 0;
  }
  out.Line("exported " + m->id + " to " + r->path + " (" + FormatBytes(static_cast<int64_t>(r->bytes)) + ", " +
           std::to_string(r->tables) + " tables, " + std::to_string(r->large_objects) + " large objects)");
  if (m->type == "globals") {
    out.Line("apply it to a server: psql -X -f " + r->path + " postgres (or `pgkeeper restore " + m->id + "`)");
  } else {
    out.Line("apply it to a new database: psql -v ON_ERROR_STOP=1 -X -f " + r->path + " NEWDB");
  }
  return 0;
}

}  // namespace

void SetupBackups(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<BackupsArgs>();
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --repo may follow list/show
  cmd->add_option("--repo", a->repo, "Repository URL (default: repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (default: repository.key_file)");
  cmd->add_subcommand("list", "Every backup, unfinished backups and damaged manifests");
  auto* show = cmd->add_subcommand("show", "A backup's manifest: settings, files and row counts");
  show->add_option("ID", a->id, "Backup id, or latest (default)");
  auto* exp = cmd->add_subcommand("export", "Write a backup as a plain SQL script that psql restores (DIR/<id>.sql)");
  exp->add_option("ID", a->id, "Backup id, or latest")->required();
  exp->add_option("DIR", a->dir, "Directory for the script (created 0700)")->required();
  *handler = [cmd, a](Context& ctx) -> int {
    std::string name = cmd->get_subcommands().front()->get_name();
    // Manifests are metadata: listing them needs no key; export reads data and does.
    auto repo = restore::OpenRepositoryForReading(a->repo, a->key_file, ctx.config, name != "export");
    if (!repo.ok()) return ctx.Fail(repo.status());
    if (name == "show") return RunShow(ctx, **repo, a->id);
    if (name == "export") return RunExport(ctx, **repo, a->id, a->dir);
    return RunList(ctx, **repo);
  };
}

}  // namespace pgk::cli
