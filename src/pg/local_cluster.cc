#include "pg/local_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fs.h"
#include "common/hash.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/quote.h"

namespace pgk::pg {

namespace {

using Clock = std::chrono::steady_clock;

std::string TailOfFile(const std::filesystem::path& path, size_t max_lines) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) return "";
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    lines.push_back(text->substr(start, nl - start));
    start = nl + 1;
  }
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  // A zombie (exited, not yet reaped) is not a running server.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close_paren = content.rfind(')');
  if (close_paren != std::string::npos && close_paren + 2 < content.size() && content[close_paren + 2] == 'Z') return false;
  return true;
}

Status Chown(const std::filesystem::path& path, const UserInfo& user) {
  if (::lchown(path.c_str(), user.uid, user.gid) != 0) {
    return Status::IO("cannot chown " + path.string() + " to " + user.name + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<int> FindFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IO(std::string("cannot create socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IO(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(err));
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

Result<std::unique_ptr<LocalCluster>> LocalCluster::Open(LocalClusterOptions options) {
  std::error_code ec;
  options.dir = std::filesystem::absolute(options.dir, ec).lexically_normal();
  if (!options.dir.empty() && options.dir.filename().empty()) options.dir = options.dir.parent_path();
  std::unique_ptr<LocalCluster> c(new LocalCluster(std::move(options)));
  PGK_ASSIGN_OR_RETURN(c->bin_, FindPgBinaries());
  if (std::filesystem::exists(c->options_.dir / "cluster.json")) PGK_RETURN_IF_ERROR(c->LoadState());
  return c;
}

LocalCluster::~LocalCluster() {
  if (child_ && !options_.detached) (void)Stop();
  if (cleanup_hook_) RemoveCleanupHook(cleanup_hook_);
}

std::optional<UserInfo> LocalCluster::ServerUser() const {
  if (!IsRoot()) return std::nullopt;
  auto u = LookupUser("postgres");
  if (!u.ok()) return std::nullopt;
  return *u;
}

std::filesystem::path LocalCluster::RealDataDir() const {
  // data/ may be a symlink the server user cannot follow from here (PrepareDataDir).
  std::error_code ec;
  auto real = std::filesystem::canonical(data_dir(), ec);
  return ec ? data_dir() : real;
}

bool LocalCluster::initialized() const { return std::filesystem::exists(data_dir() / "PG_VERSION"); }

Status LocalCluster::LoadState() {
  PGK_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(options_.dir / "cluster.json"));
  try {
    auto j = nlohmann::json::parse(text);
    port_ = j.at("port").get<int>();
    superuser_ = j.at("superuser").get<std::string>();
    password_ = j.at("password").get<std::string>();
  } catch (const std::exception& e) {
    return Status::Malformed("cluster state " + (options_.dir / "cluster.json").string() + " is damaged: " + e.what(),
                             "remove the directory with `pgkeeper local destroy --dir " + options_.dir.string() + "`");
  }
  return Status::Ok();
}

Status LocalCluster::SaveState() {
  nlohmann::json j = {{"format", 1},
                      {"port", port_},
                      {"superuser", superuser_},
                      {"password", password_},
                      {"bindir", bin_.bindir},
                      {"major", bin_.major}};
  PGK_RETURN_IF_ERROR(fs::WriteFile(options_.dir / "cluster.json", j.dump(2) + "\n"));
  std::string pgpass = "127.0.0.1:" + std::to_string(port_) + ":*:" + superuser_ + ":" + password_ + "\n";
  return fs::WriteFile(pgpass_path(), pgpass);
}

Status LocalCluster::PrepareDataDir() {
  auto user = ServerUser();
  PGK_RETURN_IF_ERROR(fs::MakeDirs(options_.dir, 0700));
  if (!user) return fs::MakeDirs(data_dir(), 0700);
  // As root the server runs as `postgres`, which must traverse to PGDATA. Our directory
  // stays root's (it holds the password) but lets others pass through (0711).
  ::chmod(options_.dir.c_str(), 0711);
  std::filesystem::path target = data_dir();
  if (!UserCanTraverse(*user, options_.dir.string())) {
    // e.g. a checkout under /root: keep PGDATA where postgres can reach it instead.
    std::filesystem::path base = "/var/tmp/pgkeeper-clusters";
    PGK_RETURN_IF_ERROR(fs::MakeDirs(base, 0711));
    ::chmod(base.c_str(), 0711);
    char name[17];
    std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(Fnv1a64(options_.dir.string())));
    target = base / name;
    if (std::filesystem::exists(target)) PGK_RETURN_IF_ERROR(fs::RemoveAll(target));
    log::Debug("{} is not reachable by the postgres user; PGDATA goes to {}", options_.dir.string(), target.string());
    std::error_code ec;
    std::filesystem::remove(data_dir(), ec);
    std::filesystem::create_directory_symlink(target, data_dir(), ec);
    if (ec) return Status::IO("cannot create symlink " + data_dir().string() + ": " + ec.message());
  }
  PGK_RETURN_IF_ERROR(fs::MakeDirs(target, 0700));
  return Chown(target, *user);
}

Status LocalCluster::Init() {
  if (initialized()) return Status::Ok();
  if (std::filesystem::exists(options_.dir / "cluster.json") || std::filesystem::exists(data_dir())) {
    // A half-made cluster from an interrupted init: start over.
    std::error_code ec;
    auto real = std::filesystem::is_symlink(data_dir()) ? std::filesystem::read_symlink(data_dir()) : data_dir();
    std::filesystem::remove_all(real, ec);
    std::filesystem::remove(data_dir(), ec);
  }
  PGK_RETURN_IF_ERROR(PrepareDataDir());
  password_ = RandomHex(16);
  auto user = ServerUser();
  // The password file must be readable by the server user: put it beside the real PGDATA,
  // which that user can reach (see PrepareDataDir).
  std::filesystem::path real_data = RealDataDir();
  std::filesystem::path pwfile = real_data.parent_path() / ("." + real_data.filename().string() + ".pwfile");
  PGK_RETURN_IF_ERROR(fs::WriteFile(pwfile, password_ + "\n", {.atomic = false, .sync = false}));
  if (user) PGK_RETURN_IF_ERROR(Chown(pwfile, *user));
  ProcessOptions po{.argv = {bin_.Path("initdb"), "-D", real_data.string(), "-U", superuser_, "--pwfile=" + pwfile.string(),
                             "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                             "--data-checksums", "--no-sync", "--no-instructions"},
                    .unset_env = {"PGDATA", "PGPORT", "PGHOST"},
                    .cwd = "/"};  // our cwd may not be reachable by the server user
  po.run_as = user;
  log::Debug("initdb -D {}", data_dir().string());
  auto r = RunProcess(po);
  std::filesystem::remove(pwfile);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Status::ChildFailed("initdb failed (exit " + std::to_string(r->exit_code) + "):\n" + r->output,
                               "check that " + options_.dir.string() + " is writable and the disk is not full");
  }
  return SaveState();
}

std::optional<pid_t> LocalCluster::RunningPid() const {
  std::ifstream in(data_dir() / "postmaster.pid");
  pid_t pid = 0;
  if (!(in >> pid)) return std::nullopt;
  if (!ProcessAlive(pid)) return std::nullopt;
  return pid;
}

std::string LocalCluster::ConnInfo(const std::string& dbname) const {
  return BuildConninfo({{"host", "127.0.0.1"},
                        {"port", std::to_string(port_)},
                        {"user", superuser_},
                        {"password", password_},
                        {"dbname", dbname}});
}

std::string LocalCluster::Url(const std::string& dbname) const {
  return "postgresql://" + superuser_ + "@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

Status LocalCluster::Start() {
  if (!initialized()) {
    return Status::NotFound("no cluster in " + options_.dir.string(), "create one with `pgkeeper local start`");
  }
  if (auto pid = RunningPid()) {
    already_running_ = true;
    std::ifstream in(data_dir() / "postmaster.pid");
    std::string line;
    for (int i = 0; i < 4 && std::getline(in, line); ++i) {
    }
    if (!line.empty()) port_ = std::atoi(line.c_str());
    log::Debug("cluster in {} already running (pid {}, port {})", options_.dir.string(), *pid, port_);
    return Status::Ok();
  }
  already_running_ = false;
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) {
      PGK_ASSIGN_OR_RETURN(port_, FindFreePort());
      PGK_RETURN_IF_ERROR(SaveState());
    }
    bool port_in_use = false;
    last = StartOnce(&port_in_use);
    if (last.ok() || !port_in_use) break;
    log::Debug("port {} was taken, trying another", port_);
  }
  return last;
}

Status LocalCluster::StartOnce(bool* port_in_use) {
  std::vector<std::string> argv = {bin_.Path("postgres"),  "-D", RealDataDir().string(), "-p", std::to_string(port_),
                                   "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="};
  for (const auto& s : options_.settings) {
    argv.push_back("-c");
    argv.push_back(s);
  }
  ProcessOptions po{.argv = argv, .unset_env = {"PGDATA", "PGPORT", "PGHOST", "PGOPTIONS"}, .cwd = "/"};
  po.run_as = ServerUser();
  po.output_file = log_path().string();
  po.new_session = true;  // a Ctrl-C in the terminal is ours to handle, not the server's
  if (!options_.detached) po.parent_death_signal = SIGINT;  // fast shutdown if we die
  log::Debug("starting postgres on 127.0.0.1:{} ({})", port_, data_dir().string());
  PGK_ASSIGN_OR_RETURN(Process child, Process::Spawn(po));
  child_.emplace(std::move(child));
  Status s = WaitReady(&*child_, port_in_use);
  if (!s.ok()) {
    if (child_) {
      child_->Signal(SIGQUIT);
      child_->Wait();
      child_.reset();
    }
    return s;
  }
  if (!options_.detached && cleanup_hook_ == 0) {
    cleanup_hook_ = AddCleanupHook([this] { (void)Stop(); });
  }
  return Status::Ok();
}

Status LocalCluster::WaitReady(Process* child, bool* port_in_use) {
  std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres connect_timeout=2";
  auto deadline = Clock::now() + std::chrono::seconds(options_.start_timeout_s);
  while (Clock::now() < deadline) {
    if (auto exited = child->TryWait()) {
      child_.reset();
      std::string tail = TailOfFile(log_path(), 15);
      *port_in_use = tail.find("could not bind") != std::string::npos || tail.find("already in use") != std::string::npos;
      return Status::ChildFailed("postgres exited during start-up (exit " + std::to_string(*exited) + "); last lines of " +
                                     log_path().string() + ":\n" + tail,
                                 "fix the problem named in the log, or remove the cluster with `pgkeeper local destroy`");
    }
    if (PQping(ping.c_str()) == PQPING_OK) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("postgres did not accept connections within " + std::to_string(options_.start_timeout_s) + " s",
                         "see " + log_path().string());
}

Status LocalCluster::Stop() {
  auto wait_gone = [](auto alive, int seconds) {
    auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (alive()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  };
  if (child_) {
    // SIGINT is PostgreSQL's fast shutdown: roll back sessions, checkpoint, exit.
    child_->Signal(SIGINT);
    bool gone = wait_gone([this] { return !child_->TryWait().has_value(); }, 60);
    if (!gone) {
      child_->Signal(SIGQUIT);
      if (!wait_gone([this] { return !child_->TryWait().has_value(); }, 10)) {
        child_->Signal(SIGKILL);
        child_->Wait();
      }
    }
    child_.reset();
  } else if (auto pid = RunningPid()) {
    ::kill(*pid, SIGINT);
    if (!wait_gone([pid] { return ProcessAlive(*pid); }, 60)) {
      ::kill(*pid, SIGQUIT);
      if (!wait_gone([pid] { return ProcessAlive(*pid); }, 10)) ::kill(*pid, SIGKILL);
    }
  }
  if (cleanup_hook_) {
    RemoveCleanupHook(cleanup_hook_);
    cleanup_hook_ = 0;
  }
  return Status::Ok();
}

Status LocalCluster::Destroy() {
  PGK_RETURN_IF_ERROR(Stop());
  std::error_code ec;
  if (std::filesystem::is_symlink(data_dir(), ec)) {
    auto target = std::filesystem::read_symlink(data_dir(), ec);
    if (!ec) PGK_RETURN_IF_ERROR(fs::RemoveAll(target));
  }
  return fs::RemoveAll(options_.dir);
}

Status LocalCluster::CreateDatabase(const std::string& name, bool replace) {
  PGK_ASSIGN_OR_RETURN(Connection conn, Connection::Connect(ConnInfo("postgres")));
  if (replace) PGK_RETURN_IF_ERROR(conn.Exec("DROP DATABASE IF EXISTS " + QuoteIdent(name) + " WITH (FORCE)"));
  return conn.Exec("CREATE DATABASE " + QuoteIdent(name));
}

}  // namespace pgk::pg
