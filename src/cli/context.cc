#include "cli/context.h"

#include "common/log.h"

namespace pgk::cli {

Result<pg::ConnTarget> Context::Target() const {
  return pg::ResolveTarget(options.db.empty() ? std::nullopt : std::optional<std::string>(options.db), config);
}

Result<pg::Connection> Context::Connect(const std::string& application_name) const {
  PGK_ASSIGN_OR_RETURN(pg::ConnTarget target, Target());
  log::Debug("connecting to {} (from {})", pg::DisplayConninfo(target.conninfo), target.source);
  pg::ConnectOptions co;
  co.application_name = application_name;
  if (auto t = config.GetInt("database.connect_timeout")) co.connect_timeout_s = static_cast<int>(*t);
  return pg::Connection::Connect(target.conninfo, co);
}

}  // namespace pgk::cli
