// Test harness: real PostgreSQL servers, started by the test process itself.
// Each integration test binary gets one embedded cluster (initdb'd in a private temp
// dir on a free loopback port, run as the `postgres` user under root), shared by its
// tests, each of which works in its own database so tests stay independent.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/process.h"
#include "pg/connection.h"
#include "pg/local_cluster.h"

namespace pgk::test {

// The process-wide cluster, started on first use and stopped when the tests end.
pg::LocalCluster& Cluster();

// A fresh, empty database on Cluster() with a unique name derived from `prefix`.
std::string CreateDatabase(const std::string& prefix);
// Creates a database and applies the example application's migrations (and seed data
// when `positions` > 0).
std::string CreateExampleDatabase(const std::string& prefix, int positions = 0);

// Connection strings to `db` on Cluster().
std::string ConnInfo(const std::string& db);
std::string UrlWithPassword(const std::string& db);  // postgresql://postgres:<pw>@127.0.0.1:port/db
std::string Password();
pg::Connection Connect(const std::string& db);

// A private temporary directory that lives as long as the test binary.
std::string TempPath(const std::string& name);

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  nlohmann::json Json() const;  // parses stdout (fails the test if it is not JSON)
  std::string All() const { return out + err; }
};

// Runs the built pgkeeper binary. The environment is cleaned of DATABASE_URL, PG* and S3
// variables first, so only what the test passes in `env` applies.
CliResult RunCli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                 const std::string& cwd = "");

// RunCli on a pseudo-terminal (stdin, stdout and stderr), typing `input` (lines ending in
// \n), then Ctrl-D: what an operator sees and answers at the prompts. `out` holds the
// whole screen (the typed lines echoed); `err` is empty.
CliResult RunCliOnTerminal(const std::vector<std::string>& args, const std::string& input,
                           const std::map<std::string, std::string>& env = {});

// RunCli in the background, e.g. to kill it, or a server it talks to, midway.
struct BackgroundCli {
  std::unique_ptr<Process> process;  // null when it could not start (the test has failed)
  std::string out_file, err_file;
  CliResult Wait();  // waits for the exit and collects stdout and stderr
};
BackgroundCli StartCli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

std::string BinaryPath();
// Every variable the S3 driver reads (RunCli removes them all; harness/s3.h sets a server's).
const std::vector<std::string>& S3EnvVariables();
// The executable `name` on $PATH, or "".
std::string FindOnPath(const std::string& name);

// The value of the unlabelled sample `name` in a Prometheus text exposition, or nullopt
// when it has none.
std::optional<double> MetricValue(const std::string& exposition, const std::string& name);

// A fresh directory TempPath(name) holding the given (file name, contents) pairs.
std::string MakeFiles(const std::string& name, const std::vector<std::pair<std::string, std::string>>& files);
// The first value of `sql` in `db`, or "ERROR: ..." (so a failing query fails a comparison).
std::string QueryValue(const std::string& db, const std::string& sql);
// Per user table "schema.table" -> "rows:md5 of all rows", and one string for all large
// objects: equal fingerprints mean equal data (restore and export tests).
std::map<std::string, std::string> TableFingerprints(const std::string& db);
std::string LargeObjectFingerprint(const std::string& db);
// `pgkeeper migrate --dir DIR --db <db> ARGS...`
CliResult RunMigrate(const std::string& db, const std::string& dir, const std::vector<std::string>& args);

}  // namespace pgk::test
