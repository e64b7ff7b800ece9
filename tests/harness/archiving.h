// Archiving clusters for the WAL and physical-backup tests: a cluster of the test
// binary's own (archive_mode needs a restart, so the shared harness cluster would not
// do) whose archive_command is `pgkeeper wal-push` into a repository. Under root the
// server runs as `postgres`, so the repository and the commands that share it with the
// server run as that user too.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/process.h"
#include "harness/harness.h"
#include "pg/connection.h"
#include "pg/local_cluster.h"

namespace pgk::test {

// A fresh directory TempPath(name), 0700, owned by the server's user.
std::string ServerOwnedDir(const std::string& name);

// A started cluster in TempPath(name) archiving into `repo` (wal_level replica,
// archive_mode on), with `extra` settings; its first segment is already archived so
// the repository exists and belongs to the server's user.
std::unique_ptr<pg::LocalCluster> StartArchivingCluster(const std::string& name, const std::string& repo,
                                                        const std::vector<std::string>& extra = {});

// The test binary's shared archiving source: one cluster archiving into one repository
// (TempPath("shared-repo")), started on first use and stopped at exit, with
// track_commit_timestamp on so that PITR tests can target commit times.
const std::string& SharedRepo();
pg::LocalCluster& SharedSource();

// Connects or aborts the test binary (a test cannot go on without its server).
pg::Connection MustConnect(const std::string& conninfo);
// The first value of `sql`, or "ERROR: ..." so that a failing query fails a comparison.
std::string ValueOf(pg::Connection& c, const std::string& sql);
// Switches to a new segment and waits (30 s at most) until the old one is archived.
void SwitchAndWaitArchived(pg::Connection& c);

// pgkeeper, or any program, as the server's user (root: `postgres`; else ourselves).
CliResult RunCliAsServerUser(const std::vector<std::string>& args);
ProcessResult RunAsServerUser(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {});

// SIGINT (fast shutdown) to a server started by `restore --start`, and wait for it.
void StopServer(pid_t pid);

// The password of `c`'s superuser, and a conninfo for `db` on another port of a server
// restored from `c` (same roles and password).
std::string PasswordOf(const pg::LocalCluster& c);
std::string RestoredConninfo(const pg::LocalCluster& source, int port, const std::string& db);

// A fresh database on `cluster` with a unique name derived from `prefix`.
std::string NewDatabase(pg::LocalCluster& cluster, const std::string& prefix);
// A new database on the shared source whose table `victim` has block 1 damaged among its
// tuples (page header and LSN intact, so only the checksum tells), frozen and
// checkpointed first so that nothing writes the page again from shared buffers before a
// backup reads it. Sets `db` and the relation's path in the data directory ("base/...");
// drop `db` afterwards so that later tests do not inherit the damage.
void DatabaseWithCorruptPage(const std::string& prefix, std::string* db, std::string* relation_path);
// One with the example application, seed data (`positions`), a large object, a TOASTed
// table `blobs` and an unlogged table `scratch`.
std::string NewExampleDatabase(pg::LocalCluster& cluster, const std::string& prefix, int positions);

// `restore --repo REPO --pgdata TempPath(name) --start` on a free port with `extra`
// arguments; fails the test on error (pid 0 then).
struct RestoredServer {
  std::string pgdata;
  int port = 0;
  pid_t pid = 0;
  nlohmann::json report;
};
RestoredServer RestorePhysicalAndStart(const std::string& repo, const std::string& name,
                                       const std::vector<std::string>& extra = {});

// Per permanent user table "schema.table" -> "rows:md5", plus "<large objects>".
std::map<std::string, std::string> PermanentTableFingerprints(const std::string& conninfo);

}  // namespace pgk::test
