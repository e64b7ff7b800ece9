// The only place that prints. Human text and --json output go to stdout; logs and errors
// go to stderr (see common/log.h). Everything printed passes through MaskSecrets.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk::cli {

class Output {
 public:
  explicit Output(bool json = false);
  bool json() const { return json_; }
  bool tty() const { return tty_; }

  // Human output (suppressed under --json, where only JSON goes to stdout).
  void Print(const std::string& text) const;
  void Line(const std::string& text = "") const { Print(text + "\n"); }
  // Machine output: one JSON document on stdout.
  void Json(const nlohmann::json& doc) const;
  // A failed command: "error: ..." and "hint: ..." on stderr; with --json also
  // {"error": {...}} on stdout so scripts always get a document.
  void Error(const Status& status) const;

  // Styling helpers; plain text when stdout is not a terminal.
  std::string Bold(const std::string& s) const;
  std::string Green(const std::string& s) const;
  std::string Yellow(const std::string& s) const;
  std::string Red(const std::string& s) const;
  std::string Dim(const std::string& s) const;

 private:
  bool json_;
  bool tty_;
};

// 1536 -> "1.5 kB", 0 -> "0 B" (powers of 1024, PostgreSQL's pg_size_pretty units).
std::string FormatBytes(int64_t bytes);
std::string FormatCount(int64_t n);        // 1234567 -> "1,234,567"
std::string FormatDuration(double seconds);  // 0.012 -> "12 ms", 75 -> "1 min 15 s"

struct Column {
  std::string header;
  bool right = false;  // right-align (numbers)
};
// Aligned text table; cells may contain ANSI styling (ignored when measuring width).
std::string RenderTable(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows,
                        const std::string& indent = "  ", bool show_header = true);

}  // namespace pgk::cli
