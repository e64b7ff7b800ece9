#include "pg/conninfo.h"

#include <libpq-fe.h>

#include <cstdlib>

#include "common/mask.h"

namespace pgk::pg {

Result<ConnTarget> ResolveTarget(const std::optional<std::string>& flag, const Config& config) {
  ConnTarget t;
  if (flag && !flag->empty()) {
    t = {*flag, "--db"};
  } else if (const char* env = std::getenv("DATABASE_URL"); env && *env) {
    t = {env, "DATABASE_URL"};
  } else if (auto url = config.GetString("database.url"); url && !url->empty()) {
    t = {*url, "config file " + config.origin()};
  } else {
    t = {"", "libpq environment"};
  }
  PGK_RETURN_IF_ERROR(ValidateConninfo(t.conninfo).WithContext("invalid connection string from " + t.source));
  return t;
}

Result<std::map<std::string, std::string>> ParseConninfo(const std::string& conninfo) {
  std::map<std::string, std::string> out;
  if (conninfo.empty()) return out;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    // libpq's message may quote the input; mask it in case it carries a password.
    return Status::InvalidArgument(MaskSecrets(msg),
                                   "use postgresql://user@host:port/dbname or 'host=... dbname=...' "
                                   "(https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNSTRING)");
  }
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out[o->keyword] = o->val;
  }
  PQconninfoFree(opts);
  return out;
}

Status ValidateConninfo(const std::string& conninfo) {
  auto parsed = ParseConninfo(conninfo);
  return parsed.ok() ? Status::Ok() : parsed.status();
}

std::string BuildConninfo(const std::map<std::string, std::string>& settings) {
  std::string out;
  for (const auto& [k, v] : settings) {
    if (!out.empty()) out += ' ';
    out += k + "='";
    for (char c : v) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out;
}

Result<std::string> WithDatabase(const std::string& conninfo, const std::string& dbname) {
  PGK_ASSIGN_OR_RETURN(auto settings, ParseConninfo(conninfo));
  settings["dbname"] = dbname;
  return BuildConninfo(settings);
}

std::string DisplayConninfo(const std::string& conninfo) {
  auto parsed = ParseConninfo(conninfo);
  if (!parsed.ok()) return "(invalid connection string)";
  auto s = *parsed;
  auto get = [&](const char* key, const char* env) -> std::string {
    if (auto it = s.find(key); it != s.end()) return it->second;
    if (const char* e = std::getenv(env); e && *e) return e;
    return "";
  };
  if (auto it = s.find("service"); it != s.end() && s.size() == 1) return "service=" + it->second;
  if (conninfo.empty()) {
    if (const char* svc = std::getenv("PGSERVICE"); svc && *svc) return std::string("service=") + svc;
  }
  std::string user = get("user", "PGUSER");
  std::string host = get("host", "PGHOST");
  std::string port = get("port", "PGPORT");
  std::string db = get("dbname", "PGDATABASE");
  bool has_password = s.count("password") > 0;
  std::string out = "postgresql://";
  if (!user.empty()) out += user + (has_password ? ":***" : "") + "@";
  out += host.empty() ? "localhost" : host;
  if (!port.empty()) out += ":" + port;
  out += "/" + db;
  return out;
}

}  // namespace pgk::pg
