#include "wal/archive.h"

namespace pgk::wal {

namespace {

// For /bin/sh, and with '%' doubled because PostgreSQL expands %p, %f and %% in the
// command before the shell sees it.
std::string Arg(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '%') {
      out += "%%";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string Common(const CommandOptions& o) {
  std::string s = " --repo " + Arg(o.repo_url);
  if (!o.key_file.empty()) s += " --key-file " + Arg(o.key_file);
  if (!o.config.empty()) s += " --config " + Arg(o.config);
  if (o.async) s += " --async";
  if (!o.spool.empty()) s += " --spool " + Arg(o.spool);
  return s;
}

}  // namespace

std::string ArchiveCommand(const CommandOptions& o) { return Arg(o.binary) + " wal-push %p" + Common(o); }

std::string RestoreCommand(const CommandOptions& o) { return Arg(o.binary) + " wal-fetch %f %p" + Common(o); }

}  // namespace pgk::wal
