#include "serve/jobs.h"

#include <algorithm>
#include <set>

namespace pgk::serve {

namespace {

const char* const kCommands[] = {"backup", "expire", "verify", "drill"};

bool ValidName(const std::string& n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

}  // namespace

std::string ArgValue(const std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0) return args[i].substr(flag.size() + 1);
  }
  return "";
}

std::string JobSpec::BackupType() const {
  std::string t = ArgValue(args, "--type");
  return t.empty() ? "logical" : t;
}

std::string JobSpec::BackupTag() const { return ArgValue(args, "--tag"); }

Result<ServeConfig> LoadServeConfig(const Config& config) {
  ServeConfig sc;
  sc.listen = config.GetString("serve.listen").value_or(kDefaultListen);
  if (auto tz = config.GetString("serve.timezone")) {
    auto loaded = TimeZone::Load(*tz);
    if (!loaded.ok()) return loaded.status().WithContext("serve.timezone in " + config.origin());
    sc.timezone = std::move(loaded).value();
  }
  sc.webhook = config.GetString("serve.webhook").value_or("");
  sc.keep_runs = static_cast<int>(std::clamp<int64_t>(config.GetInt("serve.keep_runs").value_or(100), 1, 100000));
  sc.refresh_seconds =
      static_cast<int>(std::clamp<int64_t>(config.GetInt("serve.refresh_seconds").value_or(60), 1, 86400));
  sc.schema_check_seconds = static_cast<int>(
      std::clamp<int64_t>(config.GetInt("serve.schema_check_seconds").value_or(300), 10, 86400));
  sc.lease_seconds = static_cast<int>(std::clamp<int64_t>(config.GetInt("serve.lease_seconds").value_or(60), 4, 3600));
  std::set<std::string> names;
  for (const Config& j : config.GetTables("serve.jobs")) {
    const std::string where = "job at " + j.origin();
    JobSpec spec;
    spec.name = j.GetString("name").value_or("");
    if (!ValidName(spec.name)) {
      return Status::Config(where + ": name '" + spec.name + "' is missing or not letters, digits, - and _",
                            "give each [[serve.jobs]] a name such as \"daily\"");
    }
    if (!names.insert(spec.name).second) {
      return Status::Config(where + ": a job named '" + spec.name + "' already exists", "job names must be unique");
    }
    spec.command = j.GetString("command").value_or("");
    if (std::find(std::begin(kCommands), std::end(kCommands), spec.command) == std::end(kCommands)) {
      return Status::Config(where + " (" + spec.name + "): command '" + spec.command + "' cannot be scheduled",
                            "use backup, expire, verify or drill");
    }
    auto schedule = j.GetString("schedule");
    if (!schedule) {
      return Status::Config(where + " (" + spec.name + "): no schedule", "add e.g. schedule = \"0 2 * * *\"");
    }
    auto parsed = CronSchedule::Parse(*schedule);
    if (!parsed.ok()) return parsed.status().WithContext(where + " (" + spec.name + ")");
    spec.schedule = std::move(parsed).value();
    spec.args = j.GetStrings("args").value_or(std::vector<std::string>{});
    spec.timeout_s = j.GetInt("timeout").value_or(0);
    if (spec.timeout_s < 0) {
      return Status::Config(where + " (" + spec.name + "): timeout must be 0 (none) or a number of seconds");
    }
    for (const auto& a : spec.args) {
      // serve passes these itself; a job that set them could point at another database.
      for (const char* reserved : {"--json", "--config", "--db"}) {
        if (a == reserved || a.rfind(std::string(reserved) + "=", 0) == 0) {
          return Status::Config(where + " (" + spec.name + "): args must not contain " + reserved,
                                "serve passes --json, --config and --db to every job itself");
        }
      }
    }
    sc.jobs.push_back(std::move(spec));
  }
  return sc;
}

}  // namespace pgk::serve
