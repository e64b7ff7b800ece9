// `setup-archiving`: the server settings continuous archiving into a pgkeeper repository
// needs, compared with the current ones, and applied with ALTER SYSTEM.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::wal {

struct SettingCheck {
  std::string name;
  std::string current;
  std::string wanted;
  bool ok = false;       // the current value will do
  bool restart = false;  // a change takes effect only after a server restart
  std::string why;       // one line for the operator
};

struct ArchivingPlan {
  std::vector<SettingCheck> settings;
  // An archive_command that is set to something else (another tool's) would be replaced.
  bool replaces_command = false;
  bool ok() const {
    for (const auto& s : settings)
      if (!s.ok) return false;
    return true;
  }
};

struct CurrentSetting {
  std::string value;
  bool pending_restart = false;
};

// name -> value of the settings the plan looks at (pg_settings; units applied).
Result<std::map<std::string, CurrentSetting>> CurrentArchiveSettings(pg::Connection& conn);

// Pure: what to change. `archive_command` is the command pgkeeper wants (wal::ArchiveCommand).
ArchivingPlan PlanArchiving(const std::map<std::string, CurrentSetting>& current, const std::string& archive_command);

// ALTER SYSTEM SET for every setting that is not ok, then pg_reload_conf(). Returns the
// settings still waiting for a restart afterwards (archive_mode, wal_level).
Result<std::vector<std::string>> ApplyArchiving(pg::Connection& conn, const ArchivingPlan& plan);

}  // namespace pgk::wal
