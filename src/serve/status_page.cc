#include "serve/status_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/markup.h"
#include "serve/run_record.h"

namespace pgk::serve {

std::string Ago(double seconds) {
  bool future = seconds < 0;
  double s = std::fabs(seconds);
  std::string v;
  if (s < 90)
    v = fmt::format("{} s", static_cast<int64_t>(s));
  else if (s < 3600)
    v = fmt::format("{} min", static_cast<int64_t>(s / 60));
  else if (s < 48 * 3600)
    v = fmt::format("{} h {} min", static_cast<int64_t>(s / 3600), static_cast<int64_t>(s) % 3600 / 60);
  else
    v = fmt::format("{} days", static_cast<int64_t>(s / 86400));
  return future ? "in " + v : v + " ago";
}

namespace {

std::string Bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", static_cast<int64_t>(b)) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string When(double t, double now) {
  return EscapeMarkup(IsoTime(t)) + " <span class=dim>(" + Ago(now - t) + ")</span>";
}

const char* TypeColor(const std::string& type) {
  if (type == "physical") return "#7c3aed";
  if (type == "cluster") return "#0891b2";
  if (type == "globals") return "#9ca3af";
  return "#2563eb";
}

// Backups over the last 14 days as ticks, the recoverable window as a band.
std::string Timeline(const StatusSnapshot& s, double now) {
  const double span = 14 * 86400.0, x0 = 10, width = 1180;
  double from = now - span;
  auto x = [&](double t) { return x0 + std::clamp((t - from) / span, 0.0, 1.0) * width; };
  std::string svg = "<svg viewBox='0 0 1200 90' width='100%' role='img' aria-label='backup timeline'>";
  svg += "<rect x='10' y='30' width='1180' height='30' fill='#f3f4f6'/>";
  if (s.window_start && s.window_end && *s.window_end >= from) {
    svg +=
        fmt::format("<rect x='{:.1f}' y='30' width='{:.1f}' height='30' fill='{}' opacity='0.35'/>", x(*s.window_start),
                    std::max(2.0, x(*s.window_end) - x(*s.window_start)), s.pitr ? "#16a34a" : "#86efac");
  }
  for (int d = 0; d <= 14; ++d) {
    double t = std::floor(now / 86400 - d) * 86400;
    if (t < from) continue;
    svg += fmt::format("<line x1='{0:.1f}' x2='{0:.1f}' y1='28' y2='64' stroke='#d1d5db'/>", x(t));
    if (d % 2 == 0) {
      svg += fmt::format("<text x='{:.1f}' y='80' font-size='11' fill='#6b7280' text-anchor='middle'>{}</text>", x(t),
                         IsoTime(t).substr(5, 5));
    }
  }
  for (const auto& b : s.backups) {
    if (b.restore_point() < from) continue;
    svg += fmt::format("<rect x='{:.1f}' y='22' width='3' height='46' fill='{}'><title>{} ({}{}) {}</title></rect>",
                       x(b.restore_point()) - 1.5, TypeColor(b.type), EscapeMarkup(b.id), EscapeMarkup(b.type),
                       b.tag.empty() ? "" : ", " + EscapeMarkup(b.tag), Bytes(static_cast<double>(b.stored_bytes)));
  }
  svg +=
      fmt::format("<line x1='{0:.1f}' x2='{0:.1f}' y1='18' y2='70' stroke='#111827' stroke-dasharray='3 2'/>", x(now));
  svg += "<text x='1190' y='14' font-size='11' fill='#111827' text-anchor='end'>now</text>";
  svg += "<text x='10' y='14' font-size='11' fill='#6b7280'>14 days ago</text></svg>";
  svg +=
      "<div class=legend><span style='color:#2563eb'>&#9632;</span> logical <span style='color:#7c3aed'>&#9632;</span> "
      "physical <span style='color:#0891b2'>&#9632;</span> cluster <span style='color:#9ca3af'>&#9632;</span> globals "
      "<span style='color:#16a34a'>&#9632;</span> recoverable window</div>";
  return svg;
}

}  // namespace

std::string RenderStatusPage(const StatusSnapshot& s, double now) {
  std::string verdict, verdict_class;
  if (!s.window_end) {
    verdict = "NOT RECOVERABLE: no backup to restore";
    verdict_class = "bad";
  } else {
    verdict = "Recoverable to " + IsoTime(*s.window_end) + " (" + Ago(now - *s.window_end) + ")";
    bool stale = now - *s.window_end > 26 * 3600;
    verdict_class = stale || !s.warnings.empty() ? "warn" : "good";
    if (stale) verdict += " — the newest restorable point is old";
  }
  std::string h;
  h += "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta http-equiv=refresh content=30>"
       "<meta name=viewport content='width=device-width, initial-scale=1'><title>pgkeeper — " +
       EscapeMarkup(s.host) +
       "</title><style>"
       "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#111827;background:#fff}"
       "main{max-width:1200px;margin:0 auto;padding:16px 20px}"
       ".verdict{padding:18px 22px;border-radius:8px;font-size:22px;font-weight:600;margin:8px 0 16px}"
       ".good{background:#dcfce7;color:#14532d}.warn{background:#fef9c3;color:#713f12}.bad{background:#fee2e2;color:#"
       "7f1d1d}"
       ".grid{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin-bottom:16px}"
       ".card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px}.card h3{margin:0 0 4px;font-size:12px;"
       "text-transform:uppercase;color:#6b7280;letter-spacing:.04em}.card .v{font-size:17px;font-weight:600}"
       "table{border-collapse:collapse;width:100%;margin-bottom:16px}th,td{text-align:left;padding:4px 8px;"
       "border-bottom:1px solid #f3f4f6;font-size:13px}th{color:#6b7280;font-weight:500}"
       ".dim{color:#6b7280;font-weight:400}.ok{color:#15803d}.fail{color:#b91c1c}ul.w{color:#92400e}"
       ".legend{font-size:12px;color:#374151;margin:-4px 0 12px}h2{font-size:16px;margin:18px 0 6px}"
       "header{display:flex;justify-content:space-between;align-items:baseline}</style></head><body><main>";
  h += "<header><h1 style='font-size:18px;margin:4px 0'>pgkeeper <span class=dim>" + EscapeMarkup(s.database) +
       "</span></h1><span class=dim>" + EscapeMarkup(s.host) + " · v" + EscapeMarkup(s.version) + " · status read " +
       Ago(now - s.collected_at) + "</span></header>";
  h += "<div class='verdict " + verdict_class + "'>" + EscapeMarkup(verdict) + "</div>";

  auto card = [&](const std::string& title, const std::string& value, const std::string& detail) {
    h += "<div class=card><h3>" + title + "</h3><div class=v>" + value + "</div><div class=dim>" + detail +
         "</div></div>";
  };
  h += "<div class=grid>";
  card("Recoverable window",
       s.window_start ? EscapeMarkup(IsoTime(*s.window_start).substr(0, 16)) + " → " +
                            EscapeMarkup(IsoTime(*s.window_end).substr(0, 16))
                      : "none",
       s.pitr ? "point-in-time recovery with archived WAL" : "restore to a backup's point only");
  card("Database", s.database_up ? "<span class=ok>up</span>" : "<span class=fail>down</span>",
       s.database_up
           ? "migration " + (s.migration_version ? std::to_string(*s.migration_version) : std::string("none")) +
                 (s.migration_dirty ? " <span class=fail>dirty</span>" : "") + ", schema " +
                 (s.schema_differences ? std::to_string(*s.schema_differences) + " difference(s)"
                                       : std::string("not compared"))
           : EscapeMarkup(s.database_error));
  card("WAL archiving",
       s.wal_failing ? "<span class=fail>failing</span>"
       : s.wal_last_archived ? Ago(now - *s.wal_last_archived)
                             : EscapeMarkup(s.archive_mode == "off" ? "off" : "nothing yet"),
       s.wal_lag_bytes ? "lag " + Bytes(static_cast<double>(*s.wal_lag_bytes))
                       : "archive_mode " + EscapeMarkup(s.archive_mode));
  if (s.last_drill) {
    card("Last drill", s.last_drill->passed ? "<span class=ok>passed</span>" : "<span class=fail>failed</span>",
         Ago(now - s.last_drill->time) + ", restore " + fmt::format("{:.1f}", s.last_drill->restore_seconds) + " s (" +
             EscapeMarkup(s.last_drill->backup_id) + ")");
  } else {
    card("Last drill", "<span class=fail>never</span>", "schedule a drill job");
  }
  h += "</div>";

  if (!s.warnings.empty()) {
    h += "<h2>Warnings</h2><ul class=w>";
    for (const auto& w : s.warnings) h += "<li>" + EscapeMarkup(w) + "</li>";
    h += "</ul>";
  }
  h += "<h2>Backups <span class=dim>" + std::to_string(s.backups.size()) + " in " + EscapeMarkup(s.repository) +
       (s.repository_bytes ? ", " + Bytes(static_cast<double>(*s.repository_bytes)) + " stored" : "") + "</span></h2>";
  h += Timeline(s, now);
  h += "<table><tr><th>backup</th><th>type</th><th>tag</th><th>restores to</th><th>took</th><th>stored</th></tr>";
  int shown = 0;
  for (auto it = s.backups.rbegin(); it != s.backups.rend() && shown < 15; ++it, ++shown) {
    h += "<tr><td>" + EscapeMarkup(it->id) + "</td><td>" + EscapeMarkup(it->type) + "</td><td>" +
         EscapeMarkup(it->tag) + "</td><td>" + When(it->restore_point(), now) + "</td><td>" +
         fmt::format("{:.1f} s", it->duration_s) + "</td><td>" + Bytes(static_cast<double>(it->stored_bytes)) +
         "</td></tr>";
  }
  h += "</table>";
  h += "<h2>Jobs <span class=dim>schedules in " + EscapeMarkup(s.timezone) + "</span></h2>";
  if (!s.scheduler_active) {
    h += "<p class=warn>Standing by: another serve runs the schedule of this repository (" +
         EscapeMarkup(s.scheduler_standby_for) + "); this one takes over if it stops renewing its lease.</p>";
  }
  h += "<table><tr><th>job</th><th>command</th><th>schedule</th><th>last run</th><th>result</th><th>next</th></tr>";
  for (const auto& j : s.jobs) {
    std::string result = j.running     ? "running"
                         : !j.last_run ? "<span class=dim>never ran</span>"
                         : j.last_ok   ? "<span class=ok>ok</span>" +
                                           (j.last_backup_id.empty() ? "" : " " + EscapeMarkup(j.last_backup_id))
                                     : "<span class=fail>failed</span> " + EscapeMarkup(j.last_error);
    h += "<tr><td>" + EscapeMarkup(j.name) + "</td><td>" + EscapeMarkup(j.command) + "</td><td><code>" +
         EscapeMarkup(j.schedule) + "</code></td><td>" + (j.last_run ? When(*j.last_run, now) : "") + "</td><td>" +
         result + "</td><td>" + (j.next ? When(*j.next, now) : "") + "</td></tr>";
  }
  h += "</table><p class=dim>Machine-readable: <a href='/api/status'>/api/status</a> · <a href='/metrics'>/metrics</a> "
       "· "
       "<a href='/health'>/health</a> · <a href='/ready'>/ready</a></p></main></body></html>\n";
  return h;
}

}  // namespace pgk::serve
