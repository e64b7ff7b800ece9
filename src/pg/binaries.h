// Locates the PostgreSQL server binaries (initdb, postgres, pg_dump, ...).
// Order: $PGKEEPER_PG_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/<major>/bin
// (the preferred major first, then the newest). Distribution wrappers in /usr/bin are
// skipped on purpose: Debian's wrap initdb and pg_ctl in pg_ctlcluster semantics.
#pragma once

#include <string>

#include "common/status.h"

namespace pgk::pg {

struct PgBinaries {
  std::string bindir;
  int major = 0;
  std::string Path(const std::string& tool) const { return bindir + "/" + tool; }
};

Result<PgBinaries> FindPgBinaries(int preferred_major = 15);

}  // namespace pgk::pg
