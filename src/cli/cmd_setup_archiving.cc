// `pgkeeper setup-archiving`: prints the settings continuous archiving into the
// repository needs next to the current ones; with --apply writes them (ALTER SYSTEM) and
// says whether the server must be restarted.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/prompt.h"
#include "cli/wal_maintenance.h"
#include "pg/quote.h"
#include "wal/archive.h"
#include "wal/setup.h"

namespace pgk::cli {

namespace {

struct SetupArgs {
  std::string repo;
  std::string key_file;
  std::string binary;
  bool async = false;
  std::string spool;
  bool apply = false;
};

std::string Absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// archive_command runs with the data directory as its working directory: every path in
// it must be absolute.
std::string AbsoluteRepoUrl(const std::string& url) {
  if (url.find("://") != std::string::npos) return url;
  return Absolute(url);
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "pgkeeper";
}

int Run(Context& ctx, const SetupArgs& a) {
  const Output& out = ctx.out;
  std::string url = !a.repo.empty() ? a.repo : ctx.config.GetString("repository.url").value_or("");
  if (url.empty()) {
    return ctx.Fail(
        Status::InvalidArgument("no repository given", "pass --repo PATH|s3://bucket/prefix or set repository.url"));
  }
  std::string key_file = !a.key_file.empty() ? a.key_file : ctx.config.GetString("repository.key_file").value_or("");
  std::vector<std::string> notes;
  // The repository must open with what the server will have: the key file, not this
  // shell's environment.
  auto repository = OpenWalRepository(ctx, url, key_file, false);
  if (!repository.ok() && repository.status().code() != Code::kNotFound) return ctx.Fail(repository.status());
  if (!repository.ok()) notes.push_back("the repository does not exist yet: the first wal-push creates it");
  const char* env_key = std::getenv(pipeline::kKeyEnvVar);
  if (env_key && *env_key && key_file.empty()) {
    notes.push_back(std::string("the server does not see ") + pipeline::kKeyEnvVar +
                    ": give the key in a file only the server's user can read (--key-file)");
  }
  std::string spool = !a.spool.empty() ? a.spool : ctx.config.GetString("wal.spool").value_or("");
  if (a.async && spool.empty()) {
    return ctx.Fail(Status::InvalidArgument("--async needs a spool directory", "pass --spool DIR or set wal.spool"));
  }
  wal::CommandOptions co{.binary = !a.binary.empty() ? Absolute(a.binary) : SelfExe(),
                         .repo_url = AbsoluteRepoUrl(url),
                         .key_file = Absolute(key_file),
                         .config = Absolute(ctx.options.config_path),
                         .async = a.async,
                         .spool = Absolute(spool)};
  std::string command = wal::ArchiveCommand(co);

  auto conn = ctx.Connect("pgkeeper setup-archiving");
  if (!conn.ok()) return ctx.Fail(conn.status());
  auto current = wal::CurrentArchiveSettings(*conn);
  if (!current.ok()) return ctx.Fail(current.status());
  auto plan = wal::PlanArchiving(*current, command);

  std::vector<std::vector<std::string>> rows;
  nlohmann::json settings = nlohmann::json::array();
  for (const auto& s : plan.settings) {
    rows.push_back({s.name, s.current.empty() ? "''" : s.current, s.ok ? out.Green("ok") : out.Yellow("change"),
                    s.ok               ? ""
                    : s.wanted.empty() ? "''"
                                       : s.wanted});
    settings.push_back({{"name", s.name},
                        {"current", s.current},
                        {"wanted", s.wanted},
                        {"ok", s.ok},
                        {"restart", s.restart},
                        {"why", s.why}});
  }
  out.Line(out.Bold("WAL archiving settings") + "  (" + conn->display() + ")");
  out.Print(RenderTable({{"setting"}, {"current"}, {"state"}, {"wanted"}}, rows));
  for (const auto& n : notes) out.Line(out.Yellow("note: ") + n);

  nlohmann::json doc = {
      {"settings", settings}, {"archive_command", command}, {"ok", plan.ok()}, {"notes", notes}, {"applied", false}};
  if (plan.ok()) {
    out.Line("all settings are in place");
    if (out.json()) out.Json(doc);
    return 0;
  }
  if (!a.apply) {
    out.Line("\nTo apply, run `pgkeeper setup-archiving --apply` with the same options, or in psql:");
    for (const auto& s : plan.settings) {
      if (!s.ok) out.Line("  ALTER SYSTEM SET " + s.name + " = " + pg::QuoteLiteral(s.wanted) + ";");
    }
    out.Line("  SELECT pg_reload_conf();   -- then restart the server if archive_mode or wal_level changed");
    if (out.json()) out.Json(doc);
    return 1;
  }
  if (plan.replaces_command) {
    Status s = Confirm(ctx, "replace the server's archive_command '" + (*current)["archive_command"].value + "'");
    if (!s.ok()) return ctx.Fail(s);
  }
  auto pending = wal::ApplyArchiving(*conn, plan);
  if (!pending.ok()) return ctx.Fail(pending.status().WithHint("ALTER SYSTEM needs a superuser"));
  doc["applied"] = true;
  doc["restart_needed"] = *pending;
  if (pending->empty()) {
    out.Line(out.Green("applied") + " and reloaded: archiving into " + co.repo_url + " is active");
  } else {
    std::string names;
    for (const auto& n : *pending) names += (names.empty() ? "" : ", ") + n;
    out.Line(out.Green("applied") + "; " + out.Yellow("restart the server") + " for " + names +
             " to take effect (e.g. `pg_ctl restart -D <data directory>` or `systemctl restart postgresql`)");
  }
  if (out.json()) out.Json(doc);
  return 0;
}

}  // namespace

void SetupSetupArchiving(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<SetupArgs>();
  cmd->add_option("--repo", a->repo, "Repository to archive into (default repository.url)");
  cmd->add_option("--key-file", a->key_file,
                  "Encryption key file the server's user can read (default repository.key_file)");
  cmd->add_option("--binary", a->binary, "pgkeeper as the server sees it (default: this binary's absolute path)");
  cmd->add_flag("--async", a->async, "Archive asynchronously through a spool directory");
  cmd->add_option("--spool", a->spool, "Spool directory for --async (default wal.spool)");
  cmd->add_flag("--apply", a->apply,
                "Write the settings with ALTER SYSTEM and reload (archive_mode and wal_level need a restart)");
  cmd->footer("Exit 1 when settings need changing and --apply was not given.");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
