// The "migrations" section of `pgkeeper check`: current version, dirty state, and pending
// or changed files when the migrations directory is at hand.
#pragma once

namespace pgk::migrate {

// Registers the section with check::RegisterCheckSection (idempotent).
void RegisterMigrationCheck();

}  // namespace pgk::migrate
