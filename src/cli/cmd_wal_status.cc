// `pgkeeper wal status`: is WAL archiving working, and how much would be lost if the
// server died now. The server's view (pg_stat_archiver) and, when a repository is
// configured, the archive's (newest segment, gaps per timeline).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/wal_maintenance.h"
#include "wal/archive.h"
#include "wal/status.h"

namespace pgk::cli {

namespace {

struct StatusArgs {
  std::string repo;
  std::string key_file;
  std::string slot;
};

std::string Seconds(double s) { return FormatDuration(s); }

nlohmann::json RangeJson(const wal::SegmentRange& r, uint64_t seg) {
  return {{"timeline", r.timeline},
          {"first", wal::SegmentFileName(r.timeline, r.first, seg)},
          {"last", wal::SegmentFileName(r.timeline, r.last, seg)},
          {"segments", r.last - r.first + 1}};
}

// The archive's side; problems are reported, not fatal: the server's side still helps.
void ArchiveReport(Context& ctx, const StatusArgs& a, nlohmann::json* doc, std::vector<std::string>* problems) {
  bool configured = !a.repo.empty() || ctx.config.GetString("repository.url").has_value();
  if (!configured) return;
  // The listing needs no key: an encrypted repository opens without one.
  auto repository = OpenWalRepository(ctx, a.repo, a.key_file, false, /*metadata_only=*/true);
  if (!repository.ok()) {
    problems->push_back("repository: " + repository.status().message());
    return;
  }
  auto archive = wal::Archive::Open(**repository);
  if (!archive.ok()) {
    problems->push_back(archive.status().message());
    return;
  }
  auto files = (*archive)->List();
  if (!files.ok()) {
    problems->push_back(files.status().message());
    return;
  }
  uint64_t seg = (*archive)->segment_size();
  auto sum = wal::Summarize(*files);
  uint64_t stored = 0;
  for (const auto& f : *files) stored += f.stored_size;
  nlohmann::json runs = nlohmann::json::array(), gaps = nlohmann::json::array();
  for (const auto& r : sum.runs) runs.push_back(RangeJson(r, seg));
  for (const auto& g : sum.gaps) gaps.push_back(RangeJson(g, seg));
  (*doc)["archive"] = {{"repository", (*repository)->Url()},
                       {"system_identifier", (*archive)->info().system_identifier},
                       {"segments", sum.segments},
                       {"stored_bytes", stored},
                       {"runs", runs},
                       {"gaps", gaps},
                       {"timelines_with_history", sum.history_timelines},
                       {"newest", sum.newest ? nlohmann::json(sum.newest->file.name) : nlohmann::json(nullptr)},
                       {"newest_mtime", sum.newest ? nlohmann::json(sum.newest->mtime_s) : nlohmann::json(nullptr)}};
  const Output& out = ctx.out;
  std::string line = (*repository)->Url() + ": " + FormatCount(static_cast<int64_t>(sum.segments)) + " segments, " +
                     FormatBytes(static_cast<int64_t>(stored));
  if (sum.newest) line += ", newest " + sum.newest->file.name;
  out.Line("  archive      " + line);
  for (const auto& r : sum.runs) {
    out.Line("               timeline " + std::to_string(r.timeline) + ": " +
             wal::SegmentFileName(r.timeline, r.first, seg) + " .. " + wal::SegmentFileName(r.timeline, r.last, seg));
  }
  for (const auto& g : sum.gaps) {
    std::string gap = wal::SegmentFileName(g.timeline, g.first, seg) +
                      (g.first == g.last ? "" : " .. " + wal::SegmentFileName(g.timeline, g.last, seg));
    problems->push_back("gap in the archive on timeline " + std::to_string(g.timeline) + ": " + gap + " missing");
  }
}

// The wal-receive side: its slot, and its replication row while connected. Shown only
// when the slot exists (a server without a receiver has nothing to report here).
void ReceiverReport(Context& ctx, pg::Connection& conn, const StatusArgs& a, nlohmann::json* doc,
                    std::vector<std::string>* problems) {
  std::string slot = !a.slot.empty() ? a.slot : ctx.config.GetString("wal.slot").value_or("pgkeeper");
  auto rs = wal::QueryReceiverStatus(conn, slot);
  if (!rs.ok()) {
    problems->push_back("receiver: " + rs.status().message());
    return;
  }
  (*doc)["receiver"] = nullptr;
  if (!rs->has_value()) return;
  const wal::ReceiverStatus& r = **rs;
  auto opt = [](const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  auto lsn = [](const std::optional<uint64_t>& v) {
    return v ? nlohmann::json(wal::FormatLsn(*v)) : nlohmann::json(nullptr);
  };
  (*doc)["receiver"] = {{"slot", r.slot},
                        {"active", r.active},
                        {"wal_status", r.wal_status},
                        {"restart_lsn", lsn(r.restart_lsn)},
                        {"retained_bytes", opt(r.retained_bytes)},
                        {"application_name", r.application_name},
                        {"state", r.state},
                        {"sync_state", r.sync_state},
                        {"flush_lsn", lsn(r.flush_lsn)},
                        {"lag_bytes", opt(r.flush_lag_bytes)}};
  const Output& out = ctx.out;
  std::string line = "slot " + r.slot + ": ";
  if (r.active) {
    line += (r.state.empty() ? std::string("connected") : r.state) + " (" + r.sync_state + ") as " + r.application_name;
    if (r.flush_lsn) line += ", flushed " + wal::FormatLsn(*r.flush_lsn);
    if (r.flush_lag_bytes) line += ", lag " + FormatBytes(static_cast<int64_t>(*r.flush_lag_bytes));
  } else {
    line += out.Red("not connected");
    if (r.retained_bytes)
      line += ", the server keeps " + FormatBytes(static_cast<int64_t>(*r.retained_bytes)) + " of WAL for it";
    problems->push_back("wal-receive is not connected to slot " + r.slot +
                        " (start it, or drop the slot with `pgkeeper wal-receive --drop-slot` if it is retired)");
  }
  if (r.wal_status == "lost" || r.wal_status == "unreserved") {
    problems->push_back("slot " + r.slot + " is " + r.wal_status +
                        ": the server has removed (or may remove) WAL the receiver has not received");
  }
  out.Line("  receiver     " + line);
}

int Run(Context& ctx, const StatusArgs& a) {
  auto conn = ctx.Connect("pgkeeper wal status");
  if (!conn.ok()) return ctx.Fail(conn.status());
  auto st = wal::QueryArchiveStatus(*conn);
  if (!st.ok()) return ctx.Fail(st.status());
  const Output& out = ctx.out;
  std::vector<std::string> problems;
  bool archiving = st->archive_mode != "off";
  if (st->failing) {
    problems.push_back("archiving is failing: " + st->last_failed_wal + " failed at " + st->last_failed_time +
                       " (see the server log for the command's error)");
  }
  out.Line(out.Bold("WAL archiving") + "  (" + conn->display() + ")");
  out.Line("  mode         archive_mode " + st->archive_mode + ", wal_level " + st->wal_level + ", archive_timeout " +
           (st->archive_timeout_s > 0 ? std::to_string(st->archive_timeout_s) + " s" : "off"));
  out.Line("  command      " + (st->archive_command.empty() ? std::string("(none)") : st->archive_command));
  out.Line("  position     " + wal::FormatLsn(st->current_lsn) +
           (st->current_wal.empty() ? "" : " in " + st->current_wal) + ", timeline " + std::to_string(st->timeline) +
           (st->in_recovery ? " (in recovery)" : ""));
  out.Line("  archived     " + FormatCount(st->archived_count) +
           (st->last_archived_wal.empty()
                ? std::string(", none yet")
                : ", last " + st->last_archived_wal + " at " + st->last_archived_time +
                      (st->last_archived_age_s ? " (" + Seconds(*st->last_archived_age_s) + " ago)" : "")));
  out.Line("  failed       " + FormatCount(st->failed_count) +
           (st->last_failed_wal.empty() ? "" : ", last " + st->last_failed_wal + " at " + st->last_failed_time) +
           (st->failing ? out.Red("  failing now") : ""));
  if (st->lag_bytes) {
    out.Line("  lag          " + FormatBytes(static_cast<int64_t>(*st->lag_bytes)) + ", " + Seconds(*st->lag_seconds) +
             (st->ready_files ? ", " + std::to_string(*st->ready_files) + " file(s) waiting" : ""));
  }
  nlohmann::json doc = {{"archive_mode", st->archive_mode},
                        {"wal_level", st->wal_level},
                        {"archive_command", st->archive_command},
                        {"archive_timeout_seconds", st->archive_timeout_s},
                        {"wal_segment_size", st->segment_size},
                        {"in_recovery", st->in_recovery},
                        {"timeline", st->timeline},
                        {"current_lsn", wal::FormatLsn(st->current_lsn)},
                        {"current_wal", st->current_wal},
                        {"archived_count", st->archived_count},
                        {"last_archived_wal", st->last_archived_wal},
                        {"last_archived_time", st->last_archived_time},
                        {"failed_count", st->failed_count},
                        {"last_failed_wal", st->last_failed_wal},
                        {"last_failed_time", st->last_failed_time},
                        {"failing", st->failing},
                        {"ready_files", st->ready_files ? nlohmann::json(*st->ready_files) : nlohmann::json(nullptr)},
                        {"lag_bytes", st->lag_bytes ? nlohmann::json(*st->lag_bytes) : nlohmann::json(nullptr)},
                        {"lag_seconds", st->lag_seconds ? nlohmann::json(*st->lag_seconds) : nlohmann::json(nullptr)}};
  ReceiverReport(ctx, *conn, a, &doc, &problems);
  // With a receiver streaming into the repository, archive_command is optional.
  if (!archiving && doc["receiver"].is_null()) {
    problems.push_back("archive_mode is off and no wal-receive slot: WAL is not archived (`pgkeeper setup-archiving`)");
  }
  ArchiveReport(ctx, a, &doc, &problems);
  for (const auto& p : problems) out.Line(out.Red("  problem      ") + p);
  doc["problems"] = problems;
  doc["ok"] = problems.empty();
  if (out.json()) out.Json(doc);
  if (problems.empty()) {
    out.Line(out.Green("ok"));
    return 0;
  }
  return 1;
}

}  // namespace

void SetupWal(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<StatusArgs>();
  cmd->require_subcommand(1);
  auto* status = cmd->add_subcommand("status", "Last archived segment, failures, lag in bytes and seconds, gaps");
  status->add_option("--repo", a->repo, "Repository holding the archive (default repository.url; optional)");
  status->add_option("--key-file", a->key_file, "Encryption key file");
  status->add_option("--slot", a->slot, "wal-receive's replication slot (default wal.slot, or pgkeeper)");
  status->footer(
      "Exit 1 when archiving is off or failing, the archive has gaps, or wal-receive's slot exists but nothing "
      "streams from it.");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
