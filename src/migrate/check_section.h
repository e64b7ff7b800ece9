// The "migrations" section of `pgkeeper check`: current version, dirty state, and pending
// or changed files when the migrations directory is at hand.
#pragma once

#include "check/report.h"

namespace pgk::migrate {

// Adds the section (and its findings) to `report` alone: one read of the history table,
// cheap enough for serve to run on every status refresh.
Status AddMigrationSection(pg::Connection& conn, const check::CheckOptions& options, check::CheckReport& report);

// Registers the section with check::RegisterCheckSection (idempotent).
void RegisterMigrationCheck();

}  // namespace pgk::migrate
