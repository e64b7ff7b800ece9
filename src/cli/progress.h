// The progress line of long work (backup, restore) on a terminal: a bar, bytes done of the
// total, rate and ETA, and the latest event, redrawn on stderr a few times a second by a
// thread of its own so that workers only add to an atomic counter. Off the terminal (or in
// --json mode) it draws nothing: events go to the debug log and the command prints its one
// summary line.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace pgk::cli {

// One line, at most `width` columns (pure; unit-tested). `total` 0 means unknown (no bar,
// no ETA); a `done` beyond an estimated total shows 99%, never more than 100%.
std::string RenderProgressLine(const std::string& verb, int64_t done, int64_t total, double elapsed_s,
                               const std::string& event, int width);

class ProgressBar {
 public:
  ProgressBar(bool enabled, std::string verb);
  ~ProgressBar();  // erases the line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void SetTotal(int64_t bytes) { total_ = bytes; }
  void Add(int64_t bytes) { done_ += bytes; }  // any thread
  void Event(const std::string& text);          // any thread
  void Finish();                                // stops drawing and erases the line

 private:
  void Loop();
  bool enabled_;
  std::string verb_;
  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> done_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string event_;
  std::chrono::steady_clock::time_point start_;
  std::thread thread_;
};

}  // namespace pgk::cli
