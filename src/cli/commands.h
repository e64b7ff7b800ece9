// The command table (after ninja's subcommand table): each command registers its CLI11
// subcommand and options, and sets the handler that runs when it is chosen. Adding a
// capability means adding one Setup function here and one file under src/cli/.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/context.h"

namespace pgk::cli {

using Handler = std::function<int(Context&)>;

struct CommandSpec {
  const char* name;
  const char* description;
  void (*setup)(CLI::App* command, Handler* handler);
};

void SetupCheck(CLI::App* command, Handler* handler);
void SetupDemo(CLI::App* command, Handler* handler);
void SetupLocal(CLI::App* command, Handler* handler);
void SetupMigrate(CLI::App* command, Handler* handler);
void SetupSchema(CLI::App* command, Handler* handler);
void SetupBackup(CLI::App* command, Handler* handler);
void SetupBackups(CLI::App* command, Handler* handler);
void SetupRestore(CLI::App* command, Handler* handler);
void SetupVerify(CLI::App* command, Handler* handler);
void SetupExpire(CLI::App* command, Handler* handler);
void SetupDrill(CLI::App* command, Handler* handler);
void SetupRepo(CLI::App* command, Handler* handler);
void SetupWorkload(CLI::App* command, Handler* handler);
void SetupRoles(CLI::App* command, Handler* handler);
void SetupWalPush(CLI::App* command, Handler* handler);
void SetupWalFetch(CLI::App* command, Handler* handler);
void SetupWalReceive(CLI::App* command, Handler* handler);
void SetupWal(CLI::App* command, Handler* handler);
void SetupSetupArchiving(CLI::App* command, Handler* handler);
void SetupClean(CLI::App* command, Handler* handler);
void SetupDr(CLI::App* command, Handler* handler);
void SetupServe(CLI::App* command, Handler* handler);

inline const CommandSpec kCommands[] = {
    {"check", "Report on a database's health: connection, settings, size, tables", &SetupCheck},
    {"demo", "Tour pgkeeper on an embedded cluster with the example application", &SetupDemo},
    {"local", "Manage the embedded local PostgreSQL cluster", &SetupLocal},
    {"migrate", "Apply, roll back, check and lint schema migrations (golang-migrate layout)", &SetupMigrate},
    {"schema", "Snapshot, diff and check the schema against the expected one; render it as SQL", &SetupSchema},
    {"backup", "Take a consistent, parallel, compressed and encrypted logical backup", &SetupBackup},
    {"backups", "List the backups in a repository, show one, or export it as plain SQL", &SetupBackups},
    {"restore", "Restore a backup into a new database, verified against its row counts", &SetupRestore},
    {"verify", "Re-read every file of a backup and check both checksums", &SetupVerify},
    {"expire", "Remove backups the retention policy no longer keeps, and unfinished ones", &SetupExpire},
    {"drill", "Restore the latest backup into a scratch database and prove it matches", &SetupDrill},
    {"repo", "The repository itself: info (no key needed) and rekey (change the encryption key)", &SetupRepo},
    {"roles", "Set roles' passwords after restoring a globals or cluster backup", &SetupRoles},
    {"workload", "Seed, run and verify the example application's workload", &SetupWorkload},
    {"wal-push", "Archive one WAL file into the repository (archive_command = 'pgkeeper wal-push %p ...')", &SetupWalPush},
    {"wal-fetch", "Restore one WAL file from the repository (restore_command = 'pgkeeper wal-fetch %f %p ...')", &SetupWalFetch},
    {"wal-receive", "Stream WAL into the repository over a replication connection (a service; --synchronous for RPO zero)", &SetupWalReceive},
    {"wal", "WAL archive status: last archived segment, failures, lag, gaps", &SetupWal},
    {"dr", "Guided disaster recovery: plan, run and verify the right restore for what happened", &SetupDr},
    {"clean", "Drop every user database of a rehearsal server (--all-databases)", &SetupClean},
    {"serve", "Run scheduled backups, expiry, verification and drills; serve /health, /ready, /metrics and a status page", &SetupServe},
    {"setup-archiving", "Check (or --apply) the server settings WAL archiving into the repository needs", &SetupSetupArchiving},
};

// Parses argv, runs the chosen command, returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace pgk::cli
