#include "schema/source.h"


#include <filesystem>
#include <memory>

#include "common/fs.h"
#include "common/hash.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "migrate/runner.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/local_cluster.h"
#include "pg/quote.h"
#include "schema/diff.h"
#include "schema/introspect.h"
#include "schema/json.h"

namespace pgk::schema {

namespace {


// A temporary database that is dropped when this object goes away, or on Ctrl-C.
class ShadowDatabase {
 public:
  static Result<std::unique_ptr<ShadowDatabase>> Create(const std::string& server_conninfo) {
    std::unique_ptr<ShadowDatabase> s(new ShadowDatabase);
    s->admin_conninfo_ = server_conninfo;
    s->name_ = "pgkeeper_shadow_" + RandomHex(6);
    PGK_ASSIGN_OR_RETURN(pg::Connection admin, pg::Connection::Connect(server_conninfo));
    Status created = admin.Exec("CREATE DATABASE " + pg::QuoteIdent(s->name_) + " TEMPLATE template0");
    if (!created.ok()) {
      return created.WithContext("cannot create a shadow database").WithHint(
          "the user needs the CREATEDB privilege; or use --shadow local to apply it on the embedded cluster");
    }
    s->created_ = true;
    std::string name = s->name_;
    std::string admin_ci = server_conninfo;
    s->hook_ = AddCleanupHook([name, admin_ci] { DropDatabase(admin_ci, name); });
    PGK_ASSIGN_OR_RETURN(s->conninfo_, pg::WithDatabase(server_conninfo, s->name_));
    return s;
  }
  ~ShadowDatabase() {
    if (created_) DropDatabase(admin_conninfo_, name_);
    if (hook_) RemoveCleanupHook(hook_);
  }
  const std::string& conninfo() const { return conninfo_; }

 private:
  ShadowDatabase() = default;
  static void DropDatabase(const std::string& admin_conninfo, const std::string& name) {
    auto admin = pg::Connection::Connect(admin_conninfo);
    if (!admin.ok()) {
      log::Warn("could not drop shadow database {}: {}", name, admin.status().message());
      return;
    }
    Status s = admin->Exec("DROP DATABASE IF EXISTS " + pg::QuoteIdent(name) + " WITH (FORCE)");
    if (!s.ok()) log::Warn("could not drop shadow database {}: {}", name, s.message());
  }
  std::string admin_conninfo_;
  std::string name_;
  std::string conninfo_;
  bool created_ = false;
  int hook_ = 0;
};

Result<Snapshot> IntrospectConninfo(const std::string& conninfo, const std::vector<std::string>& exclude) {
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(conninfo));
  PGK_ASSIGN_OR_RETURN(Snapshot s, Introspect(conn));
  ExcludeTables(s, exclude);
  return s;
}

}  // namespace

bool IsDatabaseSource(const std::string& source) {
  if (source.empty() || source == "-") return true;
  if (source.find("://") != std::string::npos) return true;
  if (std::filesystem::exists(source)) return false;
  return source.find('=') != std::string::npos;
}

Result<LoadedSchema> LoadSource(const std::string& source, const SourceOptions& options) {
  PGK_ASSIGN_OR_RETURN(migrate::TableName history, migrate::ParseTableName(options.migrations_table));
  std::vector<std::string> exclude = {Qualified(history.schema, history.table)};
  LoadedSchema out;
  if (IsDatabaseSource(source)) {
    std::string ci = source.empty() || source == "-" ? options.conninfo : source;
    PGK_ASSIGN_OR_RETURN(out.snapshot, IntrospectConninfo(ci, exclude));
    out.description = "database " + pg::DisplayConninfo(ci);
    return out;
  }
  std::error_code ec;
  bool is_dir = std::filesystem::is_directory(source, ec);
  std::string ext = std::filesystem::path(source).extension().string();
  if (!is_dir && !std::filesystem::exists(source, ec)) {
    return Status::NotFound("schema source not found: " + source,
                            "give a database URL, a snapshot .json, a .sql file or a migrations directory");
  }
  if (!is_dir && ext == ".json") {
    PGK_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(source));
    PGK_ASSIGN_OR_RETURN(out.snapshot, ParseSnapshot(text, source));
    ExcludeTables(out.snapshot, exclude);
    out.description = "snapshot " + source;
    return out;
  }
  if (!is_dir && ext != ".sql") {
    return Status::InvalidArgument("cannot tell what kind of schema source " + source + " is",
                                   "use a .json snapshot, a .sql file, a migrations directory or a database URL");
  }

  // Shadow database: on the compared server, or on the embedded cluster.
  std::unique_ptr<pg::LocalCluster> cluster;
  std::string server = options.conninfo;
  if (options.shadow == "local") {
    PGK_ASSIGN_OR_RETURN(cluster, pg::LocalCluster::Open({.dir = options.local_dir}));
    PGK_RETURN_IF_ERROR(cluster->Init());
    PGK_RETURN_IF_ERROR(cluster->Start());
    server = cluster->ConnInfo("postgres");
  } else if (options.shadow != "server") {
    return Status::InvalidArgument("unknown --shadow '" + options.shadow + "'", "use server or local");
  }
  PGK_ASSIGN_OR_RETURN(auto shadow, ShadowDatabase::Create(server));
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(shadow->conninfo()));
  std::string where = options.shadow == "local" ? " (shadow database on the embedded cluster)" : " (shadow database)";
  if (is_dir) {
    PGK_ASSIGN_OR_RETURN(auto files, migrate::LoadMigrations(source));
    migrate::Runner runner(conn, files, {.table = history});
    auto limit = options.migrations_version;
    PGK_ASSIGN_OR_RETURN(auto result, runner.Run(
                                          [limit](const migrate::StatusReport& s) -> Result<std::vector<migrate::Step>> {
                                            PGK_ASSIGN_OR_RETURN(auto steps, migrate::PlanUp(s, 0, {}));
                                            if (limit) std::erase_if(steps, [&](const auto& st) { return st.file->version > *limit; });
                                            return steps;
                                          },
                                          nullptr));
    out.description = "migrations " + source + (limit ? " at version " + std::to_string(*limit) : " (all)") + where;
    (void)result;
  } else {
    PGK_ASSIGN_OR_RETURN(std::string sql, fs::ReadFile(source));
    if (sql.find("\n\\") != std::string::npos || sql.rfind("\\", 0) == 0) {
      return Status::Malformed(source + " contains psql meta-commands (lines starting with a backslash)",
                               "pgkeeper applies plain SQL; remove the \\ commands (e.g. from pg_dump's plain output, "
                               "\\connect and \\restrict lines)");
    }
    Status applied = conn.Exec(sql);
    if (!applied.ok()) return applied.WithContext("applying " + source + " to the shadow database");
    out.description = "SQL file " + source + where;
  }
  PGK_ASSIGN_OR_RETURN(out.snapshot, Introspect(conn));
  ExcludeTables(out.snapshot, exclude);
  return out;
}

}  // namespace pgk::schema
