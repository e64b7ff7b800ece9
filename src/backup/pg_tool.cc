#include "backup/pg_tool.h"

#include <signal.h>

#include <cstdlib>
#include <map>

#include "common/fs.h"
#include "common/mask.h"
#include "common/process.h"
#include "pg/binaries.h"
#include "pg/conninfo.h"

namespace pgk::backup {

namespace {

// A .pgpass line for any host, port, database and user: ':' and '\' are escaped.
std::string PassfileLine(const std::string& password) {
  std::string escaped;
  for (char c : password) {
    if (c == ':' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return "*:*:*:*:" + escaped + "\n";
}

}  // namespace

Status RunPgTool(const PgToolRun& run, pipeline::Sink& sink) {
  PGK_ASSIGN_OR_RETURN(auto bin, pg::FindPgBinaries());
  PGK_ASSIGN_OR_RETURN(auto settings, pg::ParseConninfo(run.conninfo));
  PGK_ASSIGN_OR_RETURN(auto tmp, fs::TempDir::Create("pgkeeper-" + run.tool + "-"));
  std::map<std::string, std::string> env = {{"PGAPPNAME", run.application_name}};
  std::string password;
  if (auto it = settings.find("password"); it != settings.end()) {
    password = it->second;
    settings.erase(it);
  } else if (const char* p = std::getenv("PGPASSWORD"); p != nullptr) {
    password = p;
  }
  if (!password.empty()) {
    std::string passfile = (tmp.path() / "pgpass").string();
    PGK_RETURN_IF_ERROR(fs::WriteFile(passfile, PassfileLine(password), {.atomic = false, .sync = false}));
    env["PGPASSFILE"] = passfile;
  }
  std::vector<std::string> argv = {bin.Path(run.tool), "--dbname=" + pg::BuildConninfo(settings)};
  argv.insert(argv.end(), run.args.begin(), run.args.end());
  std::string err_file = (tmp.path() / "stderr").string();
  ProcessOptions po{.argv = argv, .env = env, .unset_env = {"PGPASSWORD"}};
  po.capture = true;
  po.stderr_file = err_file;
  PGK_ASSIGN_OR_RETURN(Process p, Process::Spawn(po));
  std::vector<char> buf(1 << 16);
  Status sink_status;
  for (;;) {
    auto n = p.ReadOutput(buf.data(), buf.size());
    if (!n.ok()) {
      sink_status = n.status();
      break;
    }
    if (*n == 0) break;
    sink_status = sink.Write(std::string_view(buf.data(), *n));
    if (!sink_status.ok()) break;
  }
  if (!sink_status.ok()) p.Signal(SIGTERM);
  int code = p.Wait();
  if (!sink_status.ok()) return sink_status;
  if (code != 0) {
    auto err = fs::ReadFile(err_file);
    std::string label = run.label.empty() ? run.tool : run.label;
    std::string hint = run.hint.empty()
                           ? "the role must be able to read the catalogs " + run.tool + " reads; see its message above"
                           : run.hint;
    return Status::ChildFailed(
        label + " failed (exit " + std::to_string(code) + "): " + MaskSecrets(err.ok() ? *err : ""), hint);
  }
  return Status::Ok();
}

}  // namespace pgk::backup
