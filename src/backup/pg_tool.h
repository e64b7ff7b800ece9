// Running a PostgreSQL client program (pg_dumpall, ...) whose standard output is a backup
// file. The connection's password reaches the child through a private PGPASSFILE in a
// 0700 temporary directory, never its argv (visible in `ps`) or its environment.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/sink.h"

namespace pgk::backup {

struct PgToolRun {
  std::string tool;               // "pg_dumpall": found with pg::FindPgBinaries
  std::string conninfo;           // passed as --dbname=..., without its password
  std::vector<std::string> args;  // the other arguments
  std::string application_name = "pgkeeper-backup";
  std::string label;  // how errors name the run (default: the tool)
  std::string hint;   // the hint of a failed run (default: the role must read the catalogs)
};

// Streams the program's stdout into `sink`. A non-zero exit is ChildFailed with the
// program's stderr (masked); a sink error stops the child and is returned as is. The
// password is taken from the conninfo, else from PGPASSWORD, which the child never sees.
Status RunPgTool(const PgToolRun& run, pipeline::Sink& sink);

}  // namespace pgk::backup
