#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "common/config.h"
#include "common/log.h"
#include "common/version.h"

namespace pgk::cli {

namespace {

// CLI11 reports an unknown command as an "extra" argument; name it and suggest.
std::string UnknownCommandMessage(const CLI::App& app, const std::string& fallback) {
  std::vector<std::string> extras = app.remaining();
  if (extras.empty()) return fallback;
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.emplace_back(c.name);
  std::string msg = "unknown command or argument '" + extras.front() + "'";
  if (auto m = ClosestMatch(extras.front(), names)) msg += " (did you mean '" + *m + "'?)";
  return msg;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"pgkeeper keeps a PostgreSQL database safe: migrations, schema checks, backups, restores.", "pgkeeper"};
  app.set_version_flag("--version", std::string("pgkeeper ") + kVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command
  app.footer(
      "Exit codes: 0 ok, 1 a problem was found, 2 bad input or refused, 3 runtime failure.\n"
      "Connection: --db, then DATABASE_URL, then database.url in the config, then libpq's PG* variables.");

  Context ctx;
  auto& g = ctx.options;
  app.add_option("--db", g.db, "Database URL or conninfo (postgresql://user@host:port/db)");
  app.add_option("--config", g.config_path, "TOML config file (default ./pgkeeper.toml when present)");
  app.add_flag("--json", g.json, "Machine-readable output on stdout (logs stay on stderr)");
  app.add_flag("-v,--verbose", g.verbose, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", g.quiet, "Only errors on stderr");
  app.add_flag("-y,--yes", g.yes, "Assume yes for confirmations of destructive actions");

  Handler chosen;
  std::vector<std::pair<CLI::App*, Handler>> handlers;
  handlers.reserve(std::size(kCommands));
  for (const auto& spec : kCommands) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    handlers.emplace_back(sub, Handler());
    spec.setup(sub, &handlers.back().second);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    std::cerr << "error: " << UnknownCommandMessage(app, e.what()) << "\nhint: run 'pgkeeper --help' for the commands\n";
    return 2;
  } catch (const CLI::RequiredError& e) {
    if (app.get_subcommands().empty() && !app.remaining().empty()) {
      std::cerr << "error: " << UnknownCommandMessage(app, e.what()) << "\nhint: run 'pgkeeper --help' for the commands\n";
    } else if (app.get_subcommands().empty()) {
      std::cerr << app.help() << "\nerror: a command is required\n";
    } else {
      std::cerr << "error: " << e.what() << "\nhint: add --help to the command for its usage\n";
    }
    return 2;
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\nhint: add --help for usage\n";
    return 2;
  }

  log::Init(g.quiet ? log::Verbosity::kQuiet
            : g.verbose >= 2 ? log::Verbosity::kTrace
            : g.verbose == 1 ? log::Verbosity::kVerbose
                             : log::Verbosity::kNormal);
  ctx.out = Output(g.json);

  bool config_required = !g.config_path.empty();
  std::string config_path = config_required ? g.config_path : "pgkeeper.toml";
  auto config = Config::Load(config_path, config_required);
  if (!config.ok()) return ctx.Fail(config.status());
  ctx.config = std::move(config).value();

  for (auto& [sub, handler] : handlers) {
    if (sub->parsed()) {
      if (!handler) {
        ctx.out.Error(Status::Internal(std::string("command ") + sub->get_name() + " has no handler"));
        return 3;
      }
      return handler(ctx);
    }
  }
  return 2;
}

}  // namespace pgk::cli
