#include "pg/binaries.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "common/process.h"

namespace pgk::pg {

namespace {

bool HasServer(const std::string& dir) {
  return ::access((dir + "/postgres").c_str(), X_OK) == 0 && ::access((dir + "/initdb").c_str(), X_OK) == 0;
}

int MajorOf(const std::string& bindir) {
  auto r = RunProcess({.argv = {bindir + "/postgres", "--version"}});
  if (!r.ok() || r->exit_code != 0) return 0;
  // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
  auto pos = r->output.find(") ");
  if (pos == std::string::npos) return 0;
  return std::atoi(r->output.c_str() + pos + 2);
}

}  // namespace

Result<PgBinaries> FindPgBinaries(int preferred_major) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PGKEEPER_PG_BINDIR"); env && *env) {
    if (!HasServer(env)) {
      return Status::Config(std::string("PGKEEPER_PG_BINDIR=") + env + " has no postgres and initdb",
                            "point it at a PostgreSQL bin directory, e.g. /usr/lib/postgresql/15/bin");
    }
    return PgBinaries{env, MajorOf(env)};
  }
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = entry.path().string() + "/bin";
    if (HasServer(bin)) found.emplace_back(std::atoi(entry.path().filename().c_str()), bin);
  }
  for (const char* pg_config : {"/usr/bin/pg_config", "/usr/local/bin/pg_config"}) {
    auto r = RunProcess({.argv = {pg_config, "--bindir"}});
    if (r.ok() && r->exit_code == 0) {
      std::string dir = r->output.substr(0, r->output.find('\n'));
      if (HasServer(dir)) found.emplace_back(MajorOf(dir), dir);
    }
  }
  if (found.empty()) {
    return Status::NotFound("no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config --bindir)",
                            "install them: apt-get install postgresql-15, or set PGKEEPER_PG_BINDIR");
  }
  std::sort(found.begin(), found.end(), [&](const auto& a, const auto& b) {
    if ((a.first == preferred_major) != (b.first == preferred_major)) return a.first == preferred_major;
    return a.first > b.first;
  });
  return PgBinaries{found.front().second, found.front().first};
}

}  // namespace pgk::pg
