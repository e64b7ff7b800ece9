#include "pg/database_props.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "pg/quote.h"

namespace pgk::pg {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// PostgreSQL's SplitGUCList: comma-separated elements, double-quoted ones with "" for a
// quote; nullopt on a syntax error (the caller then keeps the value whole).
std::optional<std::vector<std::string>> SplitGucList(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) ++i;
  if (i == s.size()) return out;
  for (;;) {
    std::string element;
    if (s[i] == '"') {
      for (++i;; ++i) {
        if (i >= s.size()) return std::nullopt;
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            element += '"';
            ++i;
            continue;
          }
          ++i;
          break;
        }
        element += s[i];
      }
    } else {
      size_t start = i;
      while (i < s.size() && s[i] != ',' && !IsSpace(s[i])) ++i;
      if (i == start) return std::nullopt;
      element = s.substr(start, i - start);
    }
    out.push_back(element);
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i == s.size()) return out;
    if (s[i] != ',') return std::nullopt;
    ++i;
    while (i < s.size() && IsSpace(s[i])) ++i;
  }
}

bool IsListSetting(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* const kLists[] = {"local_preload_libraries",  "search_path",      "session_preload_libraries",
                                       "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories"};
  return std::any_of(std::begin(kLists), std::end(kLists), [&](const char* l) { return name == l; });
}

std::string LocaleColumns(int server_version) {
  if (server_version >= 170000) return "d.datlocprovider::text, coalesce(d.datlocale, '')";
  if (server_version >= 150000) return "d.datlocprovider::text, coalesce(d.daticulocale, '')";
  return "'', ''";
}

}  // namespace

std::string SettingValueSql(const std::string& name, const std::string& value) {
  if (IsListSetting(name)) {
    if (auto elements = SplitGucList(value); elements && !elements->empty()) {
      std::string out;
      for (const auto& e : *elements) out += (out.empty() ? "" : ", ") + pg::QuoteLiteral(e);
      return out;
    }
  }
  return pg::QuoteLiteral(value);
}

Result<DatabaseProps> ReadDatabaseProps(pg::Connection& conn, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(
      auto r, conn.Query("SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, " +
                             LocaleColumns(conn.server_version()) +
                             ", t.spcname, pg_get_userbyid(d.datdba), d.datconnlimit, d.datacl IS NULL, "
                             "coalesce(shobj_description(d.oid, 'pg_database'), '') "
                             "FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace "
                             "WHERE d.datname = $1",
                         {db}));
  if (r.rows() == 0) return Status::NotFound("database " + db + " does not exist on " + conn.display());
  DatabaseProps p;
  p.encoding = r.GetString(0, 0);
  p.collate = r.GetString(0, 1);
  p.ctype = r.GetString(0, 2);
  p.locale_provider = r.GetString(0, 3);
  p.locale = r.GetString(0, 4);
  p.tablespace = r.GetString(0, 5);
  p.owner = r.GetString(0, 6);
  p.connection_limit = static_cast<int>(r.GetInt(0, 7));
  p.default_privileges = r.GetBool(0, 8);
  p.comment = r.GetString(0, 9);

  PGK_ASSIGN_OR_RETURN(auto acl, conn.Query("SELECT coalesce(pg_get_userbyid(NULLIF(a.grantee, 0)), ''), "
                                            "a.privilege_type, a.is_grantable "
                                            "FROM pg_catalog.pg_database d, aclexplode(d.datacl) a "
                                            "WHERE d.datname = $1 ORDER BY 1, 2",
                                            {db}));
  for (int i = 0; i < acl.rows(); ++i)
    p.grants.push_back({acl.GetString(i, 0), acl.GetString(i, 1), acl.GetBool(i, 2)});

  PGK_ASSIGN_OR_RETURN(auto settings, conn.Query("SELECT coalesce(r.rolname, ''), c.setting "
                                                 "FROM pg_catalog.pg_db_role_setting s "
                                                 "JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
                                                 "LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole, "
                                                 "unnest(s.setconfig) WITH ORDINALITY AS c(setting, n) "
                                                 "WHERE d.datname = $1 ORDER BY 1, c.n",
                                                 {db}));
  for (int i = 0; i < settings.rows(); ++i) {
    std::string setting = settings.GetString(i, 1);
    size_t eq = setting.find('=');
    if (eq == std::string::npos) continue;
    p.settings.push_back({settings.GetString(i, 0), setting.substr(0, eq), setting.substr(eq + 1)});
  }
  return p;
}

std::string CreateClauses(const DatabaseProps& p) {
  std::string out = "ENCODING " + pg::QuoteLiteral(p.encoding) + " LC_COLLATE " + pg::QuoteLiteral(p.collate) +
                    " LC_CTYPE " + pg::QuoteLiteral(p.ctype);
  if (p.locale_provider == "i") out += " LOCALE_PROVIDER icu ICU_LOCALE " + pg::QuoteLiteral(p.locale);
  if (p.locale_provider == "b") out += " LOCALE_PROVIDER builtin BUILTIN_LOCALE " + pg::QuoteLiteral(p.locale);
  if (!p.tablespace.empty() && p.tablespace != "pg_default") out += " TABLESPACE " + pg::QuoteIdent(p.tablespace);
  return out;
}

Status ApplyDatabaseProps(pg::Connection& conn, const DatabaseProps& p, const std::string& db) {
  std::string target = "DATABASE " + pg::QuoteIdent(db);
  // Owner first: privileges granted afterwards are then recorded as granted by the owner,
  // as they were on the original.
  PGK_RETURN_IF_ERROR(conn.Exec("ALTER " + target + " OWNER TO " + pg::QuoteIdent(p.owner)));
  if (p.connection_limit != -1) {
    PGK_RETURN_IF_ERROR(conn.Exec("ALTER " + target + " CONNECTION LIMIT " + std::to_string(p.connection_limit)));
  }
  if (!p.default_privileges) {
    // An explicit ACL replaces the defaults (PUBLIC may CONNECT and create TEMP tables),
    // typically because CONNECT was revoked from PUBLIC and granted to the application.
    PGK_RETURN_IF_ERROR(conn.Exec("REVOKE ALL ON " + target + " FROM PUBLIC"));
    PGK_RETURN_IF_ERROR(conn.Exec("REVOKE ALL ON " + target + " FROM " + pg::QuoteIdent(p.owner)));
    for (const auto& g : p.grants) {
      std::string grantee = g.grantee.empty() ? "PUBLIC" : pg::QuoteIdent(g.grantee);
      PGK_RETURN_IF_ERROR(conn.Exec("GRANT " + g.privilege + " ON " + target + " TO " + grantee +
                                    (g.grantable ? " WITH GRANT OPTION" : "")));
    }
  }
  for (const auto& s : p.settings) {
    std::string alter = s.role.empty() ? "ALTER " + target : "ALTER ROLE " + pg::QuoteIdent(s.role) + " IN " + target;
    PGK_RETURN_IF_ERROR(
        conn.Exec(alter + " SET " + pg::QuoteIdent(s.name) + " TO " + SettingValueSql(s.name, s.value)));
  }
  if (!p.comment.empty()) PGK_RETURN_IF_ERROR(conn.Exec("COMMENT ON " + target + " IS " + pg::QuoteLiteral(p.comment)));
  return Status::Ok();
}

nlohmann::json PropsToJson(const DatabaseProps& p) {
  nlohmann::json grants = nlohmann::json::array();
  for (const auto& g : p.grants) {
    grants.push_back({{"grantee", g.grantee}, {"privilege", g.privilege}, {"grantable", g.grantable}});
  }
  nlohmann::json settings = nlohmann::json::array();
  for (const auto& st : p.settings) settings.push_back({{"role", st.role}, {"name", st.name}, {"value", st.value}});
  return {{"encoding", p.encoding},
          {"collate", p.collate},
          {"ctype", p.ctype},
          {"locale_provider", p.locale_provider},
          {"locale", p.locale},
          {"tablespace", p.tablespace},
          {"owner", p.owner},
          {"connection_limit", p.connection_limit},
          {"default_privileges", p.default_privileges},
          {"grants", grants},
          {"settings", settings},
          {"comment", p.comment}};
}

Result<DatabaseProps> PropsFromJson(const nlohmann::json& j) {
  // Every field is required: a manifest is written by pgkeeper and checksummed, so a
  // missing one means a damaged or foreign file, not an older format.
  DatabaseProps p;
  try {
    p.encoding = j.at("encoding").get<std::string>();
    p.collate = j.at("collate").get<std::string>();
    p.ctype = j.at("ctype").get<std::string>();
    p.locale_provider = j.at("locale_provider").get<std::string>();
    p.locale = j.at("locale").get<std::string>();
    p.tablespace = j.at("tablespace").get<std::string>();
    p.owner = j.at("owner").get<std::string>();
    p.connection_limit = j.at("connection_limit").get<int>();
    p.default_privileges = j.at("default_privileges").get<bool>();
    for (const auto& g : j.at("grants")) {
      p.grants.push_back({.grantee = g.at("grantee").get<std::string>(),
                          .privilege = g.at("privilege").get<std::string>(),
                          .grantable = g.at("grantable").get<bool>()});
    }
    for (const auto& st : j.at("settings")) {
      p.settings.push_back({.role = st.at("role").get<std::string>(),
                            .name = st.at("name").get<std::string>(),
                            .value = st.at("value").get<std::string>()});
    }
    p.comment = j.at("comment").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("malformed database properties: ") + e.what());
  }
  return p;
}

}  // namespace pgk::pg
