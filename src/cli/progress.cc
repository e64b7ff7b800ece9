#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/output.h"
#include "common/log.h"

namespace pgk::cli {

namespace {

constexpr auto kRedraw = std::chrono::milliseconds(200);

int TerminalWidth() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

std::string Clock(double seconds) {
  long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

}  // namespace

std::string RenderProgressLine(const std::string& verb, int64_t done, int64_t total, double elapsed_s,
                               const std::string& event, int width) {
  std::string line = verb + " ";
  double rate = elapsed_s > 0.2 ? static_cast<double>(done) / elapsed_s : 0;
  if (total > 0) {
    double fraction = std::min(static_cast<double>(done) / static_cast<double>(total), done >= total ? 0.99 : 1.0);
    constexpr int kBar = 24;
    int filled = static_cast<int>(fraction * kBar);
    line += "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kBar - filled), '.') +
            "] ";
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3d%% ", static_cast<int>(fraction * 100));
    line += pct;
    line += FormatBytes(done) + " of " + FormatBytes(std::max(done, total));
  } else {
    line += FormatBytes(done);
  }
  if (rate > 0) line += "  " + FormatBytes(static_cast<int64_t>(rate)) + "/s";
  if (total > done && rate > 0) line += "  ETA " + Clock(static_cast<double>(total - done) / rate);
  line += "  " + Clock(elapsed_s);
  if (!event.empty()) line += "  " + event;
  if (width > 1 && static_cast<int>(line.size()) > width - 1) line.resize(static_cast<size_t>(width - 1));
  return line;
}

ProgressBar::ProgressBar(bool enabled, std::string verb)
    : enabled_(enabled), verb_(std::move(verb)), start_(std::chrono::steady_clock::now()) {
  if (enabled_) thread_ = std::thread([this] { Loop(); });
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Event(const std::string& text) {
  if (!enabled_) {
    log::Debug("{}", text);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  event_ = text;
}

void ProgressBar::Finish() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void ProgressBar::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kRedraw, [this] { return stop_; })) {
    std::string event = event_;
    lock.unlock();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string line = RenderProgressLine(verb_, done_, total_, elapsed, event, TerminalWidth());
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    lock.lock();
  }
}

}  // namespace pgk::cli
