// `pgkeeper serve`: the long-running side of pgkeeper. Runs the scheduled jobs of
// [[serve.jobs]] as child processes, records every run in the repository, notifies a
// webhook on failures and recoveries, and serves /health, /ready, /metrics, /api/status
// and a status page (docs/commands/serve.md).
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "common/child_fds.h"
#include "common/config.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/version.h"
#include "pg/conninfo.h"
#include "serve/http.h"
#include "serve/http_auth.h"
#include "serve/service.h"
#include "serve/tls.h"

namespace pgk::cli {

namespace {

struct ServeArgs {
  std::string listen;
  std::string repo;
  std::string key_file;
  double stop_grace_s = 120;
};

bool HasFlag(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// serve's --repo and --key-file go to every job that does not name its own.
void PassRepositoryFlags(const ServeArgs& a, std::vector<serve::JobSpec>* jobs) {
  for (auto& job : *jobs) {
    if (!a.repo.empty() && !HasFlag(job.args, "--repo")) job.args.insert(job.args.end(), {"--repo", a.repo});
    if (!a.key_file.empty() && !HasFlag(job.args, "--key-file")) {
      job.args.insert(job.args.end(), {"--key-file", a.key_file});
    }
  }
}

// What serve reads from the config file, at start-up and again on SIGHUP.
struct Settings {
  serve::ServeConfig serve;
  std::optional<std::string> token;               // the HTTP access token (http_auth.h)
  std::shared_ptr<const serve::TlsIdentity> tls;  // null: plain HTTP
};

Result<Settings> LoadSettings(const Config& config) {
  Settings out;
  PGK_ASSIGN_OR_RETURN(out.serve, serve::LoadServeConfig(config));
  PGK_ASSIGN_OR_RETURN(out.token, serve::LoadServeToken(config));
  PGK_ASSIGN_OR_RETURN(auto tls_files, serve::TlsFilesFromConfig(config));
  if (tls_files) {
    PGK_ASSIGN_OR_RETURN(out.tls, serve::TlsIdentity::Load(*tls_files));
  }
  return out;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// What serve started with that a reload cannot change.
struct Started {
  std::string listen;
  int lease_seconds = 0;
};

// SIGHUP: the config file read again; its [serve] section replaces the jobs, time zone,
// webhook, keep_runs, refresh_seconds and schema_check_seconds; the access token and the TLS certificate and key
// are read again (rotated files take effect). A file that does not load changes nothing. What
// serve took from elsewhere at start-up (the database, the repository, the listen
// address, lease_seconds) needs a restart, and the log says so when the file changed it.
void Reload(const Context& ctx, const ServeArgs& a, const Started& started, serve::Service* service,
            serve::HttpServer* http) {
  bool required = !ctx.options.config_path.empty();
  std::string path = required ? ctx.options.config_path : "pgkeeper.toml";
  log::Info("SIGHUP: reloading {}", path);
  auto config = Config::Load(path, required);
  auto settings = config.ok() ? LoadSettings(*config) : Result<Settings>(config.status());
  if (!settings.ok()) {
    log::Error("reload failed, the running configuration stays: {}", settings.status().ToString());
    return;
  }
  Settings& s = *settings;
  if ((s.tls != nullptr) != (std::string(http->scheme()) == "https")) {
    log::Warn("reload: HTTPS was turned {}; serve switches on restart", s.tls ? "on" : "off");
  } else if (s.tls) {
    log::Info("reload: TLS certificate {}", s.tls->description());
    service->SetTlsCertificateExpiry(s.tls->not_after());
  }
  for (const char* key : {"repository.url", "repository.key_file", "database.url"}) {
    if (config->GetString(key) != ctx.config.GetString(key)) {
      log::Warn("reload: {} changed; serve keeps the value it started with until it is restarted", key);
    }
  }
  if (a.listen.empty() && s.serve.listen != started.listen) {
    log::Warn("reload: serve.listen changed to {}; the HTTP server moves there on restart", s.serve.listen);
  }
  if (s.serve.lease_seconds != started.lease_seconds) {
    log::Warn("reload: serve.lease_seconds changed to {}; it takes effect on restart", s.serve.lease_seconds);
  }
  if (s.token.has_value() != http->HasToken()) {
    log::Info("reload: the HTTP access token is now {}", s.token ? "required" : "off");
  }
  PassRepositoryFlags(a, &s.serve.jobs);
  service->Reload(std::move(s.serve));
  http->SetToken(std::move(s.token));
  http->SetTls(std::move(s.tls));
}

Result<std::string> ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/pgkeeper-serve-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return Status::IO("cannot create a temporary directory in " + templ.substr(0, templ.rfind('/')),
                      "set TMPDIR to a writable directory");
  }
  return templ;
}

int Run(Context& ctx, const ServeArgs& a) {
  auto settings = LoadSettings(ctx.config);
  if (!settings.ok()) return ctx.Fail(settings.status());
  serve::ServeConfig* sc = &settings->serve;
  auto& token = settings->token;
  auto& tls = settings->tls;
  auto clock = serve::ClockFromEnvironment();
  if (!clock.ok()) return ctx.Fail(clock.status());
  auto target = ctx.Target();
  if (!target.ok()) return ctx.Fail(target.status());
  std::string listen = !a.listen.empty() ? a.listen : sc->listen;
  auto address = serve::ParseListen(listen);
  if (!address.ok()) return ctx.Fail(address.status());
  std::string repo_url = !a.repo.empty() ? a.repo : ctx.config.GetString("repository.url").value_or("");
  std::string key_file = !a.key_file.empty() ? a.key_file : ctx.config.GetString("repository.key_file").value_or("");
  if (repo_url.empty()) {
    return ctx.Fail(Status::InvalidArgument(
        "serve needs a repository (for its jobs, their run records and the status)",
        "pass --repo PATH|file:///PATH|s3://bucket/prefix or set repository.url in pgkeeper.toml"));
  }
  auto scratch = ScratchDir();
  if (!scratch.ok()) return ctx.Fail(scratch.status());

  serve::ServiceOptions o;
  Started at_start{.listen = listen, .lease_seconds = sc->lease_seconds};
  o.config = std::move(*sc);
  o.clock = &*clock;
  o.host = HostName();
  o.version = kVersion;
  o.database_display = pg::DisplayConninfo(target->conninfo);
  o.stop_grace_s = a.stop_grace_s;
  o.lease_ttl_s = o.config.lease_seconds;
  o.collect = {.conninfo = target->conninfo, .repo_url = repo_url, .key_file = key_file, .config = &ctx.config};
  o.runner.scratch_dir = *scratch;
  if (!ctx.options.config_path.empty()) {
    o.runner.global_args = {"--config", std::filesystem::absolute(ctx.options.config_path).string()};
  }
  // The database goes to the jobs through the environment: a URL in argv (with its
  // password) would be visible in `ps`.
  if (!ctx.options.db.empty()) o.runner.env["DATABASE_URL"] = ctx.options.db;
  PassRepositoryFlags(a, &o.config.jobs);
  SetChildrenInheritOnlyStdio(true);
  curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread: libcurl's global state is not thread-safe

  serve::Service service(std::move(o));
  Status init = service.Init();
  if (!init.ok()) return ctx.Fail(init);
  serve::HttpServer http(service, tls);
  if (tls) service.SetTlsCertificateExpiry(tls->not_after());
  http.SetToken(token);
  Status started = http.Start(*address);
  if (!started.ok()) return ctx.Fail(started);
  std::string host = address->host.find(':') != std::string::npos ? "[" + address->host + "]" : address->host;
  std::string url = std::string(http.scheme()) + "://" + host + ":" + std::to_string(http.port()) + "/";
  log::Info("pgkeeper serve {} listening on {} for {}", kVersion, url, pg::DisplayConninfo(target->conninfo));
  if (tls) log::Info("TLS certificate {}", tls->description());
  if (token) {
    log::Info("an access token is required for /metrics, /api/status and /; /live, /health and /ready are open");
  } else if (!IsLoopback(address->host)) {
    log::Warn("serve listens on {} without an access token: whoever reaches the port reads the status page and "
              "metrics; set serve.token_file or PGKEEPER_SERVE_TOKEN (docs/commands/serve.md)",
              address->host);
  }
  if (ctx.out.json()) {
    ctx.out.Json({{"listening", url}, {"port", http.port()}});
  } else {
    ctx.out.Line("pgkeeper serve: listening on " + url);
  }
  std::string scratch_dir = *scratch;
  // A requested stop is not a failure: forward the signal to the running jobs (they abort
  // safely and leave no listed backup), wait for them, and exit 0.
  AddCleanupHook([&service, scratch_dir] {
    int sig = InterruptSignal();
    bool clean = service.Stop(sig == 0 ? SIGTERM : sig);
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir, ec);
    log::Info("pgkeeper serve: stopped");
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(clean ? 0 : 3);
  });
  SetReloadHandler([&ctx, &a, at_start, &service, &http] { Reload(ctx, a, at_start, &service, &http); });
  service.Loop();
  // Loop returns only once Stop began, on the signal thread, which owns the exit.
  AwaitInterruptExit();
}

}  // namespace

void SetupServe(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<ServeArgs>();
  cmd->add_option("--listen", a->listen,
                  "HTTP address (default serve.listen, or 127.0.0.1:9187; port 0: any free port)");
  cmd->add_option("--repo", a->repo, "Repository (default repository.url); also passed to every job");
  cmd->add_option("--key-file", a->key_file,
                  "Encryption key file (default repository.key_file); also passed to every job");
  cmd->add_option("--stop-timeout", a->stop_grace_s, "Seconds to wait for running jobs after SIGTERM (default 120)")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->footer(
      "Jobs come from [[serve.jobs]] in the config (docs/commands/serve.md). SIGHUP rereads the config's [serve] "
      "section (jobs, time zone, webhook, access token, TLS certificate). SIGTERM or SIGINT stop serve: running jobs get the signal, abort "
      "safely, and serve exits 0.");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
