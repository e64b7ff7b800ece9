// `pgkeeper wal-receive`: streams WAL from the server over a replication connection into
// the repository, as a long-running process (a service), instead of archive_command's
// one call per finished segment. The loop, the spool and the protocol are in src/wal/
// (receiver.h); this file reads options, handles the slot subcommands and the stop.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/wal_maintenance.h"
#include "common/log.h"
#include "wal/receiver.h"
#include "wal/replication.h"

namespace pgk::cli {

namespace {

struct ReceiveArgs {
  std::string repo;
  std::string key_file;
  std::string spool;
  std::string slot;
  std::string application_name = "pgkeeper";
  bool synchronous = false;
  bool no_create_slot = false;
  bool create_slot = false;
  bool drop_slot = false;
  bool no_loop = false;
  int status_interval = 10;
  std::string compression;
  int level = -1000;
};

// How long a stop may take: fsync, final status, and the push in progress finishing.
constexpr auto kStopTimeout = std::chrono::seconds(60);

std::string SlotName(const Context& ctx, const ReceiveArgs& a) {
  return !a.slot.empty() ? a.slot : ctx.config.GetString("wal.slot").value_or("pgkeeper");
}

// database.connect_timeout, else 10 s: what the receiver itself waits for a connection.
int ConnectTimeout(const Context& ctx) {
  return static_cast<int>(ctx.config.GetInt("database.connect_timeout").value_or(10));
}

int SlotCommand(Context& ctx, const ReceiveArgs& a, const std::string& conninfo, const std::string& slot) {
  auto conn = wal::ReplicationConnection::Connect(conninfo, a.application_name, ConnectTimeout(ctx));
  if (!conn.ok()) return ctx.Fail(conn.status());
  if (a.create_slot) {
    Status s = conn->CreateSlot(slot);
    if (!s.ok()) return ctx.Fail(s);
    ctx.out.Line("replication slot " + slot + " exists on " + conn->display() + "; it keeps WAL from now on");
    if (ctx.out.json()) ctx.out.Json({{"slot", slot}, {"created", true}});
    return 0;
  }
  Status s = conn->DropSlot(slot);
  if (!s.ok()) return ctx.Fail(s);
  ctx.out.Line("dropped replication slot " + slot + " on " + conn->display());
  if (ctx.out.json()) ctx.out.Json({{"slot", slot}, {"dropped", true}});
  return 0;
}

int Run(Context& ctx, const ReceiveArgs& a) {
  std::string slot = SlotName(ctx, a);
  if (Status s = wal::ValidateSlotName(slot); !s.ok()) return ctx.Fail(s);
  if (a.create_slot && a.drop_slot) {
    return ctx.Fail(Status::InvalidArgument("--create-slot and --drop-slot exclude each other"));
  }
  auto target = ctx.Target();
  if (!target.ok()) return ctx.Fail(target.status());
  if (a.create_slot || a.drop_slot) return SlotCommand(ctx, a, target->conninfo, slot);

  std::string spool = !a.spool.empty() ? a.spool : ctx.config.GetString("wal.spool").value_or("");
  if (spool.empty()) {
    return ctx.Fail(Status::InvalidArgument("wal-receive needs a spool directory for the segment being received",
                                            "pass --spool DIR (a local, private directory) or set wal.spool"));
  }
  wal::ReceiveOptions o;
  o.conninfo = target->conninfo;
  o.application_name = a.application_name;
  o.slot = slot;
  o.create_slot = !a.no_create_slot;
  o.synchronous = a.synchronous;
  o.status_interval_s = a.status_interval;
  o.loop = !a.no_loop;
  o.connect_timeout_s = ConnectTimeout(ctx);
  auto push = WalPushOptions(ctx, a.compression, a.level);
  if (!push.ok()) return ctx.Fail(push.status());
  o.push = *push;

  auto repository = OpenWalRepository(ctx, a.repo, a.key_file, /*create=*/true);
  if (!repository.ok()) return ctx.Fail(repository.status());
  // The lock comes before any connection: a second receiver on this spool is refused
  // without touching the server or its slot.
  auto spool_dir = wal::ReceiveSpool::Open(spool, (*repository)->Url());
  if (!spool_dir.ok()) return ctx.Fail(spool_dir.status());
  log::Info("wal-receive: {} -> {} (spool {}, slot {})", pg::DisplayConninfo(o.conninfo), (*repository)->Url(), spool,
            slot);

  // SIGTERM/SIGINT end a receiver normally: the hook (on the signal thread) waits for the
  // loop to fsync the partial segment and send its last status, then lets the process
  // exit 0 instead of 128+signal.
  auto done = std::make_shared<std::atomic<int>>(-1);
  int hook = AddCleanupHook([done] {
    auto until = std::chrono::steady_clock::now() + kStopTimeout;
    while (done->load() < 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (done->load() >= 0) SetInterruptExitCode(done->load());
  });
  o.stop_requested = [] { return Interrupted(); };
  Status s = wal::Receive(**repository, **spool_dir, o);
  if (Interrupted()) {
    if (!s.ok())
      log::Error("{}", s.ToString());
    else
      log::Info("wal-receive stopped; the partial segment is synced in the spool");
    done->store(s.ok() ? 0 : s.exit_code());
    return s.ok() ? 0 : s.exit_code();
  }
  RemoveCleanupHook(hook);
  if (!s.ok()) return ctx.Fail(s);
  return 0;
}

}  // namespace

void SetupWalReceive(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<ReceiveArgs>();
  cmd->add_option("--repo", a->repo,
                  "Repository: an absolute path, file:///path or s3://bucket/prefix (default repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (PGKEEPER_ENCRYPTION_KEY wins when set)");
  cmd->add_option("--spool", a->spool, "Local directory for the segment being received (default wal.spool)");
  cmd->add_option("--slot", a->slot, "Physical replication slot (default wal.slot, or pgkeeper)");
  cmd->add_flag("--no-create-slot", a->no_create_slot, "Refuse to start when the slot does not exist");
  cmd->add_flag("--create-slot", a->create_slot, "Create the slot (if missing) and exit");
  cmd->add_flag("--drop-slot", a->drop_slot, "Drop the slot and exit (the server stops keeping WAL for it)");
  cmd->add_flag("--synchronous", a->synchronous,
                "Report WAL flushed as soon as it is fsynced in the spool (for synchronous_standby_names)");
  cmd->add_option("--application-name", a->application_name,
                  "The name the server knows the receiver by (synchronous_standby_names; default pgkeeper)");
  cmd->add_option("--status-interval", a->status_interval, "Seconds between status updates to the server (default 10)")
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--no-loop", a->no_loop, "Exit when the connection fails instead of retrying");
  cmd->add_option("--compression", a->compression, "zstd (default), lz4 or none (default wal.compression)")
      ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  cmd->add_option("--level", a->level, "Compression level (default wal.compression_level, or 1)");
  cmd->footer(
      "Runs until SIGTERM or SIGINT (exit 0 after syncing the partial segment). Exit 2 when the repository's archive "
      "belongs to another cluster or another receiver holds the spool or the slot.");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
