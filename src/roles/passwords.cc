#include "roles/passwords.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/private_file.h"
#include "pg/quote.h"

extern char** environ;

namespace pgk::roles {

namespace {

constexpr size_t kMaxRoleName = 63;  // NAMEDATALEN - 1
constexpr size_t kMaxFileSize = 1 << 20;

// Duplicates are an error rather than "last one wins": one of the two is a mistake.
Status CheckDuplicates(const std::vector<RolePassword>& list) {
  std::map<std::string, const RolePassword*> seen;
  for (const auto& p : list) {
    auto [it, inserted] = seen.emplace(p.role, &p);
    if (!inserted) {
      return Status::Malformed("role " + p.role + " is given twice: " + it->second->origin + " and " + p.origin,
                               "give each role's password once");
    }
  }
  return Status::Ok();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

RolePassword::~RolePassword() {
  if (!password.empty()) OPENSSL_cleanse(password.data(), password.size());
}

Result<std::vector<RolePassword>> PasswordsFromEnvironment(const std::string& prefix,
                                                           const std::vector<std::string>& env) {
  if (prefix.empty()) {
    return Status::InvalidArgument("--from-env needs a prefix", "e.g. --from-env PGK_PASSWORD_ for PGK_PASSWORD_APP");
  }
  std::vector<RolePassword> out;
  for (const auto& entry : env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq <= prefix.size() || entry.compare(0, prefix.size(), prefix) != 0) continue;
    std::string name = entry.substr(0, eq);
    std::string role = Lower(name.substr(prefix.size()));
    if (eq + 1 == entry.size()) {
      return Status::Malformed("environment variable " + name + " is empty", "give the role's password, or unset it");
    }
    if (role.size() > kMaxRoleName) {
      return Status::Malformed("environment variable " + name + " names a role longer than 63 bytes");
    }
    out.emplace_back(role, entry.substr(eq + 1), "environment variable " + name);
  }
  if (out.empty()) {
    return Status::InvalidArgument("no environment variable starts with " + prefix,
                                   "set " + prefix + "<ROLE>=<password>, e.g. " + prefix + "APP for the role app");
  }
  PGK_RETURN_IF_ERROR(CheckDuplicates(out));
  return out;
}

Result<std::vector<RolePassword>> PasswordsFromEnvironment(const std::string& prefix) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  auto result = PasswordsFromEnvironment(prefix, env);
  for (auto& s : env) OPENSSL_cleanse(s.data(), s.size());
  return result;
}

Result<std::vector<RolePassword>> ParsePasswordFile(std::string_view text, const std::string& origin) {
  std::vector<RolePassword> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string where = origin + " line " + std::to_string(line_no);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    if (line.find('\0') != std::string_view::npos) return Status::Malformed(where + " holds a NUL byte");
    std::string role;
    size_t colon = 0;
    if (line[first] == '"') {
      size_t i = first + 1;
      for (;; ++i) {
        if (i >= line.size()) return Status::Malformed(where + ": the quoted role name is not closed");
        if (line[i] != '"') {
          role += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          role += '"';
          ++i;
        } else {
          break;
        }
      }
      colon = line.find_first_not_of(" \t", i + 1);
      if (colon == std::string_view::npos || line[colon] != ':') {
        return Status::Malformed(where + ": expected ':' after the quoted role name", "write \"ROLE\":PASSWORD");
      }
    } else {
      colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Status::Malformed(where + " has no ':' between the role and its password", "write ROLE:PASSWORD");
      }
      std::string_view name = line.substr(first, colon - first);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      role = std::string(name);
    }
    if (role.empty()) return Status::Malformed(where + " has an empty role name");
    if (role.size() > kMaxRoleName) return Status::Malformed(where + " names a role longer than 63 bytes");
    if (colon + 1 == line.size()) return Status::Malformed(where + " gives role " + role + " an empty password");
    out.emplace_back(role, std::string(line.substr(colon + 1)), where);
  }
  if (out.empty()) return Status::Malformed(origin + " sets no password", "write one ROLE:PASSWORD line per role");
  PGK_RETURN_IF_ERROR(CheckDuplicates(out));
  return out;
}

Result<std::vector<RolePassword>> ReadPasswordFile(const std::string& path) {
  PGK_ASSIGN_OR_RETURN(std::string text, ReadPrivateFile(path, "password file", kMaxFileSize));
  auto result = ParsePasswordFile(text, path);
  OPENSSL_cleanse(text.data(), text.size());
  return result;
}

Result<ResetReport> ResetPasswords(pg::Connection& conn, const std::vector<RolePassword>& passwords,
                                   const ResetOptions& o) {
  ResetReport report;
  std::vector<const RolePassword*> present;
  std::string near_misses;
  for (const auto& p : passwords) {
    PGK_ASSIGN_OR_RETURN(auto r, conn.Query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", {p.role}));
    if (r.rows() > 0) {
      present.push_back(&p);
      continue;
    }
    report.missing.push_back(p.role);
    // Names from variables are lower case: point at a role that differs only in case.
    PGK_ASSIGN_OR_RETURN(auto like, conn.Query("SELECT rolname FROM pg_catalog.pg_roles WHERE lower(rolname) = "
                                               "lower($1) LIMIT 1",
                                               {p.role}));
    if (like.rows() > 0)
      near_misses += "; a role named \"" + like.GetString(0, 0) + "\" exists (give exact names in --file)";
  }
  if (!report.missing.empty() && !o.ignore_missing) {
    std::string names;
    for (const auto& n : report.missing) names += (names.empty() ? "" : ", ") + n;
    return Status::NotFound(std::to_string(report.missing.size()) + " role(s) do not exist on " + conn.display() +
                                ": " + names + "; no password was changed" + near_misses,
                            "restore the globals first (`pgkeeper restore ID`), or pass --ignore-missing to set "
                            "the others");
  }
  // Hashed before the transaction starts: every password is known to be usable first.
  std::vector<std::string> statements;
  for (const auto* p : present) {
    char* hash = PQencryptPasswordConn(conn.raw(), p->password.c_str(), p->role.c_str(), "scram-sha-256");
    if (hash == nullptr) {
      std::string why = PQerrorMessage(conn.raw());
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      return Status::Internal("cannot hash the password of role " + p->role + " (" + p->origin + "): " + why);
    }
    statements.push_back("ALTER ROLE " + pg::QuoteIdent(p->role) + " PASSWORD " + pg::QuoteLiteral(hash));
    PQfreemem(hash);
    report.set.push_back(p->role);
  }
  if (o.dry_run) return report;
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
  for (size_t i = 0; i < statements.size(); ++i) {
    Status s = conn.Exec(statements[i]);
    if (!s.ok()) {
      return Status(
          s.code(),
          "cannot set the password of role " + report.set[i] + ": " + s.message() + "; no password was changed",
          "the connecting role needs CREATEROLE (superuser for superuser roles)");
    }
  }
  PGK_RETURN_IF_ERROR(tx.Commit());
  return report;
}

}  // namespace pgk::roles
