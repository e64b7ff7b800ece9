// `pgkeeper roles reset-passwords --from-env PREFIX | --file FILE`: sets roles' passwords
// after a globals or cluster restore (docs/commands/roles.md). Prints role names only.
#include <memory>

#include "cli/commands.h"
#include "roles/passwords.h"

namespace pgk::cli {

namespace {

struct RolesArgs {
  std::string from_env;
  std::string file;
  bool ignore_missing = false;
  bool dry_run = false;
};

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

int RunResetPasswords(Context& ctx, const RolesArgs& a) {
  if (a.from_env.empty() == a.file.empty()) {
    return ctx.Fail(Status::InvalidArgument("give the passwords with either --from-env PREFIX or --file FILE"));
  }
  // Everything is read and validated before connecting: a bad file changes nothing.
  auto passwords = a.file.empty() ? roles::PasswordsFromEnvironment(a.from_env) : roles::ReadPasswordFile(a.file);
  if (!passwords.ok()) return ctx.Fail(passwords.status());
  auto conn = ctx.Connect("pgkeeper-roles");
  if (!conn.ok()) return ctx.Fail(conn.status());
  auto report = roles::ResetPasswords(*conn, *passwords, {.ignore_missing = a.ignore_missing, .dry_run = a.dry_run});
  if (!report.ok()) return ctx.Fail(report.status());
  const Output& out = ctx.out;
  std::string source = a.file.empty() ? "environment " + a.from_env + "*" : "file " + a.file;
  if (out.json()) {
    out.Json({{"set", report->set}, {"missing", report->missing}, {"dry_run", a.dry_run}, {"source", source}});
    return 0;
  }
  size_t n = report->set.size();
  std::string roles = std::to_string(n) + (n == 1 ? " role" : " roles");
  if (n == 0) {
    out.Line("no password set: none of the roles exists on " + conn->display());
  } else {
    out.Line(std::string(a.dry_run ? "dry run: would set" : "set") + " the passwords of " + roles +
             " (SCRAM-SHA-256, " + "from " + source + "): " + Join(report->set));
  }
  if (!report->missing.empty()) out.Line(out.Yellow("missing on the server (ignored): ") + Join(report->missing));
  return 0;
}

}  // namespace

void SetupRoles(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<RolesArgs>();
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --db and --json may follow the subcommand
  auto* reset = cmd->add_subcommand(
      "reset-passwords", "Set roles' passwords (after restoring a globals or cluster backup, which hold none)");
  auto* env = reset->add_option("--from-env", a->from_env,
                                "Passwords from variables PREFIX<ROLE> (role = the rest of the name, lower case)");
  reset->add_option("--file", a->file, "Passwords from a file of ROLE:PASSWORD lines (mode 0600)")->excludes(env);
  reset->add_flag("--ignore-missing", a->ignore_missing, "Set the roles that exist, report the others");
  reset->add_flag("--dry-run", a->dry_run, "Check the passwords and the roles; change nothing");
  reset->footer(
      "--db names the server. Passwords are hashed here (SCRAM-SHA-256) and set in one transaction; "
      "they never appear in output, logs or the server's statement log.");
  *handler = [a](Context& ctx) { return RunResetPasswords(ctx, *a); };
}

}  // namespace pgk::cli
