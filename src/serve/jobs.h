// The [serve] section of the config: where to listen, the time zone, the webhook, and the
// scheduled jobs ([[serve.jobs]]: name, command, schedule, args).
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "serve/cron.h"
#include "serve/timezone.h"

namespace pgk::serve {

inline constexpr const char* kDefaultListen = "127.0.0.1:9187";

struct JobSpec {
  std::string name;     // [A-Za-z0-9_-]+, unique: names the run records' folder
  std::string command;  // backup | expire | verify | drill
  CronSchedule schedule;
  std::vector<std::string> args;  // extra CLI arguments
  int64_t timeout_s = 0;          // stop the job after this long (0: never)
  // For backups: the type and tag the job's args select, to label backup metrics.
  std::string BackupType() const;
  std::string BackupTag() const;
};

struct ServeConfig {
  std::string listen = kDefaultListen;
  TimeZone timezone;
  std::string webhook;
  int keep_runs = 100;
  int refresh_seconds = 60;
  int schema_check_seconds = 300;  // the schema comparison (a shadow database) at most this often
  int lease_seconds = 60;  // the schedule lease's ttl (lease.h); read at start-up only
  std::vector<JobSpec> jobs;
};

// Reads and checks the [serve] section; every problem is a Config error (exit 2) naming
// the file and line of the job.
Result<ServeConfig> LoadServeConfig(const Config& config);

// The value of `--flag VALUE` or `--flag=VALUE` in args ("" when absent).
std::string ArgValue(const std::vector<std::string>& args, const std::string& flag);

}  // namespace pgk::serve
