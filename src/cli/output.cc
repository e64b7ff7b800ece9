#include "cli/output.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "common/mask.h"

namespace pgk::cli {

Output::Output(bool json) : json_(json), tty_(isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr) {}

void Output::Print(const std::string& text) const {
  if (json_) return;
  std::fputs(MaskSecrets(text).c_str(), stdout);
  std::fflush(stdout);
}

void Output::Json(const nlohmann::json& doc) const {
  std::string text = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fputs((MaskSecrets(text) + "\n").c_str(), stdout);
  std::fflush(stdout);
}

void Output::Error(const Status& status) const {
  bool color = isatty(STDERR_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
  std::string msg = MaskSecrets(status.message());
  std::fprintf(stderr, "%serror:%s %s\n", color ? "\033[31;1m" : "", color ? "\033[0m" : "", msg.c_str());
  if (!status.hint().empty()) {
    std::fprintf(stderr, "%shint:%s %s\n", color ? "\033[36m" : "", color ? "\033[0m" : "",
                 MaskSecrets(status.hint()).c_str());
  }
  if (json_) {
    nlohmann::json err = {{"code", CodeLabel(status.code())}, {"exit_code", status.exit_code()}, {"message", msg}};
    if (!status.hint().empty()) err["hint"] = MaskSecrets(status.hint());
    Json({{"error", err}});
  }
}

static std::string Wrap(bool on, const char* code, const std::string& s) {
  return on ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
}
std::string Output::Bold(const std::string& s) const { return Wrap(tty_, "1", s); }
std::string Output::Green(const std::string& s) const { return Wrap(tty_, "32", s); }
std::string Output::Yellow(const std::string& s) const { return Wrap(tty_, "33", s); }
std::string Output::Red(const std::string& s) const { return Wrap(tty_, "31", s); }
std::string Output::Dim(const std::string& s) const { return Wrap(tty_, "2", s); }

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  }
  return buf;
}

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string FormatDuration(double seconds) {
  char buf[48];
  if (seconds < 1) {
    std::snprintf(buf, sizeof buf, "%.0f ms", seconds * 1000);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %d s", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%d h %d min", static_cast<int>(seconds) / 3600,
                  (static_cast<int>(seconds) % 3600) / 60);
  }
  return buf;
}

namespace {

size_t VisibleWidth(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\033') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    // Count UTF-8 lead bytes only, so non-ASCII names align.
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++w;
  }
  return w;
}

}  // namespace

std::string RenderTable(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows,
                        const std::string& indent, bool show_header) {
  std::vector<size_t> width(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) width[c] = VisibleWidth(columns[c].header);
  for (const auto& row : rows)
    for (size_t c = 0; c < columns.size() && c < row.size(); ++c) width[c] = std::max(width[c], VisibleWidth(row[c]));
  auto render_row = [&](const std::vector<std::string>& cells) {
    std::string line = indent;
    for (size_t c = 0; c < columns.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      std::string pad(width[c] - VisibleWidth(cell), ' ');
      line += columns[c].right ? pad + cell : cell + (c + 1 < columns.size() ? pad : "");
      if (c + 1 < columns.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  std::vector<std::string> headers;
  for (const auto& c : columns) headers.push_back(c.header);
  std::string out = show_header ? render_row(headers) : "";
  for (const auto& row : rows) out += render_row(row);
  return out;
}

}  // namespace pgk::cli
