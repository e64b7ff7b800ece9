#include "pg/connection.h"

#include <cstdlib>
#include <regex>

#include "common/log.h"
#include "common/mask.h"
#include "pg/conninfo.h"

namespace pgk::pg {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

std::string Field(const PGresult* res, int code) {
  const char* v = PQresultErrorField(res, code);
  return v ? v : "";
}

void NoticeTrampoline(void* arg, const PGresult* res) {
  auto* handler = static_cast<std::function<void(const Notice&)>*>(arg);
  Notice n{Field(res, PG_DIAG_SEVERITY), Field(res, PG_DIAG_MESSAGE_PRIMARY)};
  if (handler && *handler) (*handler)(n);
}

}  // namespace

int64_t QueryResult::GetInt(int r, int c, int64_t if_null) const {
  if (IsNull(r, c)) return if_null;
  return std::strtoll(PQgetvalue(res_.get(), r, c), nullptr, 10);
}

double QueryResult::GetDouble(int r, int c, double if_null) const {
  if (IsNull(r, c)) return if_null;
  return std::strtod(PQgetvalue(res_.get(), r, c), nullptr);
}

int64_t QueryResult::Affected() const {
  const char* n = res_ ? PQcmdTuples(res_.get()) : "";
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

Status ConnectionError(const std::string& libpq_message, const std::string& display) {
  std::string raw = Trim(MaskSecrets(libpq_message));
  std::smatch m;
  std::string what = raw;
  std::string hint;
  static const std::regex at_host(R"re(connection to server at "([^"]*)"(?: \([^)]*\))?, port (\d+) failed: )re");
  static const std::regex on_socket(R"re(connection to server on socket "([^"]*)" failed: )re");
  std::string where;
  if (std::regex_search(raw, m, at_host)) {
    where = m[1].str() + ":" + m[2].str();
  } else if (std::regex_search(raw, m, on_socket)) {
    where = "socket " + m[1].str();
  }
  auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };
  if (raw.find("Connection refused") != std::string::npos || raw.find("No such file or directory") != std::string::npos) {
    what = "the server is not listening on " + (where.empty() ? std::string("the given address") : where);
    hint = "check that PostgreSQL is running there and that host and port are right (--db, DATABASE_URL, PGHOST, PGPORT)";
  } else if (std::regex_search(raw, m, std::regex(R"re(password authentication failed for user "([^"]*)")re"))) {
    what = "password authentication failed for user " + m[1].str();
    hint = "check the password in the URL, PGPASSWORD or ~/.pgpass";
  } else if (raw.find("no password supplied") != std::string::npos) {
    what = "the server asks for a password and none was given";
    hint = "put it in ~/.pgpass (or PGPASSFILE), PGPASSWORD, or the URL";
  } else if (std::regex_search(raw, m, std::regex(R"re(database "([^"]*)" does not exist)re"))) {
    what = "database " + m[1].str() + " does not exist";
    hint = "create it (createdb " + m[1].str() + ") or name another database in the URL";
  } else if (std::regex_search(raw, m, std::regex(R"re(role "([^"]*)" does not exist)re"))) {
    what = "role " + m[1].str() + " does not exist";
    hint = "connect as an existing user (user@ in the URL, or PGUSER)";
  } else if (std::regex_search(raw, m, std::regex(R"re(could not translate host name "([^"]*)")re"))) {
    what = "unknown host " + m[1].str();
    hint = "check the host name in the URL or PGHOST";
  } else if (raw.find("timeout expired") != std::string::npos) {
    what = "timed out connecting" + (where.empty() ? std::string() : " to " + where);
    hint = "check network reachability and firewalls; raise connect_timeout in the URL if the server is slow";
  } else if (raw.find("no pg_hba.conf entry") != std::string::npos) {
    what = first_line(raw.substr(raw.find("no pg_hba.conf entry")));
    hint = "ask the DBA to allow this client in pg_hba.conf";
  } else if (raw.find("pg_hba.conf rejects") != std::string::npos) {
    what = first_line(raw.substr(raw.find("pg_hba.conf rejects")));
    hint = "a pg_hba.conf line rejects this user from this address: ask the DBA to allow it (the first matching line "
           "wins)";
  } else if (raw.find("the database system is starting up") != std::string::npos ||
             raw.find("the database system is shutting down") != std::string::npos) {
    what = first_line(raw.substr(raw.find("the database system")));
    hint = "wait a moment and try again";
  } else {
    auto pos = raw.find("FATAL:");
    what = first_line(pos == std::string::npos ? raw : Trim(raw.substr(pos + 6)));
    while (!what.empty() && what.front() == ' ') what.erase(0, 1);
  }
  return Status::Connection("cannot connect to " + display + ": " + what, hint);
}

Result<Connection> Connection::Connect(const std::string& conninfo, const ConnectOptions& options) {
  PGK_RETURN_IF_ERROR(ValidateConninfo(conninfo));
  std::vector<const char*> keys;
  std::vector<const char*> values;
  std::string timeout = std::to_string(options.connect_timeout_s);
  // Defaults first: the expanded dbname (the user's conninfo) overrides them.
  bool replication = !options.replication.empty();
  if (!replication) {
    keys.push_back("application_name");
    values.push_back(options.application_name.c_str());
  }
  if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
    keys.push_back("connect_timeout");
    values.push_back(timeout.c_str());
  }
  if (!conninfo.empty()) {
    keys.push_back("dbname");
    values.push_back(conninfo.c_str());
  }
  if (replication) {
    keys.push_back("application_name");
    values.push_back(options.application_name.c_str());
    keys.push_back("replication");
    values.push_back(options.replication.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  Connection c;
  c.display_ = DisplayConninfo(conninfo);
  c.conn_.reset(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!c.conn_) return Status::Connection("cannot connect: out of memory");
  if (PQstatus(c.conn_.get()) != CONNECTION_OK) {
    return ConnectionError(PQerrorMessage(c.conn_.get()), c.display_);
  }
  // The display string now reflects what libpq actually used (host, port, db, user).
  std::string db = PQdb(c.conn_.get());
  c.display_ = "postgresql://" + std::string(PQuser(c.conn_.get())) +
               (std::string(PQpass(c.conn_.get()) ? PQpass(c.conn_.get()) : "").empty() ? "" : ":***") + "@" +
               c.host() + ":" + c.port() + "/" + db;
  c.OnNotice([](const Notice& n) { log::Debug("server {}: {}", n.severity, n.message); });
  if (options.portable_output) {
    PGK_RETURN_IF_ERROR(c.Exec("SET extra_float_digits = 3; SET DateStyle = ISO; SET IntervalStyle = postgres"));
  }
  return c;
}

Connection::~Connection() = default;

std::string Connection::host() const {
  const char* h = PQhost(conn_.get());
  return h ? h : "";
}

void Connection::OnNotice(std::function<void(const Notice&)> handler) {
  notice_handler_ = std::make_unique<std::function<void(const Notice&)>>(std::move(handler));
  PQsetNoticeReceiver(conn_.get(), &NoticeTrampoline, notice_handler_.get());
}

Status Connection::FromResult(PGresult* res, const std::string& sql) {
  last_error_ = {};
  if (res == nullptr) {
    std::string msg = Trim(PQerrorMessage(conn_.get()));
    last_error_.message = msg;
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
      return Status::Connection("lost the connection to " + display_ + ": " + msg,
                                "the server may have restarted or the network dropped; run the command again");
    }
    return Status::Query(msg);
  }
  last_error_.severity = Field(res, PG_DIAG_SEVERITY);
  last_error_.sqlstate = Field(res, PG_DIAG_SQLSTATE);
  last_error_.message = Field(res, PG_DIAG_MESSAGE_PRIMARY);
  last_error_.detail = Field(res, PG_DIAG_MESSAGE_DETAIL);
  last_error_.hint = Field(res, PG_DIAG_MESSAGE_HINT);
  last_error_.context = Field(res, PG_DIAG_CONTEXT);
  std::string pos = Field(res, PG_DIAG_STATEMENT_POSITION);
  last_error_.position = pos.empty() ? 0 : std::atoi(pos.c_str());
  if (last_error_.message.empty()) last_error_.message = Trim(PQresultErrorMessage(res));
  PQclear(res);
  std::string msg = MaskSecrets(last_error_.message);
  if (!last_error_.sqlstate.empty()) msg += " (SQLSTATE " + last_error_.sqlstate + ")";
  if (!last_error_.detail.empty()) msg += "\ndetail: " + MaskSecrets(last_error_.detail);
  log::Debug("query failed: {}: {}", MaskSecrets(sql.substr(0, 200)), msg);
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    return Status::Connection("lost the connection to " + display_ + ": " + msg,
                              "the server may have restarted or the network dropped; run the command again");
  }
  return Status::Query(msg, MaskSecrets(last_error_.hint));
}

Result<QueryResult> Connection::Query(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* res = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return QueryResult(res);
  return FromResult(res, sql);
}

Result<QueryResult> Connection::SimpleQuery(const std::string& sql) {
  PGresult* res = PQexec(conn_.get(), sql.c_str());
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_COPY_BOTH) return QueryResult(res);
  return FromResult(res, sql);
}

Status Connection::Exec(const std::string& sql) {
  // PQexec returns only the last result; an error stops the script there.
  PGresult* res = PQexec(conn_.get(), sql.c_str());
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
    PQclear(res);
    return Status::Ok();
  }
  return FromResult(res, sql);
}

Result<std::string> Connection::QueryValue(const std::string& sql, const Params& params) {
  PGK_ASSIGN_OR_RETURN(QueryResult r, Query(sql, params));
  if (r.rows() == 0 || r.cols() == 0) return Status::Query("query returned no rows: " + sql.substr(0, 80));
  return r.GetString(0, 0);
}

Status Connection::CopyOut(const std::string& sql, const std::function<Status(std::string_view)>& sink) {
  PGresult* res = PQexec(conn_.get(), sql.c_str());
  if (!res || PQresultStatus(res) != PGRES_COPY_OUT) return FromResult(res, sql);
  PQclear(res);
  Status sink_status;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_.get(), &buf, 0);
    if (n > 0) {
      if (sink_status.ok()) {
        sink_status = sink(std::string_view(buf, static_cast<size_t>(n)));
        if (!sink_status.ok()) Cancel();
      }
      PQfreemem(buf);
      continue;
    }
    if (n == -1) break;  // done
    return FromResult(nullptr, sql);
  }
  PGresult* end = PQgetResult(conn_.get());
  Status end_status = (end && PQresultStatus(end) == PGRES_COMMAND_OK) ? Status::Ok() : FromResult(end, sql);
  if (end && end_status.ok()) PQclear(end);
  while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
  if (!sink_status.ok()) return sink_status;
  return end_status;
}

Result<int64_t> Connection::CopyIn(const std::string& sql, const std::function<Result<bool>(std::string& buf)>& producer) {
  PGresult* res = PQexec(conn_.get(), sql.c_str());
  if (!res || PQresultStatus(res) != PGRES_COPY_IN) return FromResult(res, sql);
  PQclear(res);
  std::string buf;
  Status producer_status;
  for (;;) {
    buf.clear();
    auto more = producer(buf);
    if (!more.ok()) {
      producer_status = more.status();
      PQputCopyEnd(conn_.get(), "aborted by pgkeeper");
      break;
    }
    if (!buf.empty() && PQputCopyData(conn_.get(), buf.data(), static_cast<int>(buf.size())) != 1) {
      return FromResult(nullptr, sql);
    }
    if (!*more) {
      if (PQputCopyEnd(conn_.get(), nullptr) != 1) return FromResult(nullptr, sql);
      break;
    }
  }
  PGresult* end = PQgetResult(conn_.get());
  Status end_status = (end && PQresultStatus(end) == PGRES_COMMAND_OK) ? Status::Ok() : FromResult(end, sql);
  int64_t rows = 0;
  if (end && end_status.ok()) {
    rows = std::strtoll(PQcmdTuples(end), nullptr, 10);
    PQclear(end);
  }
  while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
  if (!producer_status.ok()) return producer_status;
  if (!end_status.ok()) return end_status;
  return rows;
}

void Connection::Cancel() {
  PGcancel* cancel = PQgetCancel(conn_.get());
  if (!cancel) return;
  char err[256];
  PQcancel(cancel, err, sizeof err);
  PQfreeCancel(cancel);
}

Result<Transaction> Transaction::Begin(Connection& conn, const std::string& mode) {
  PGK_RETURN_IF_ERROR(conn.Exec(mode.empty() ? "BEGIN" : "BEGIN " + mode));
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_) (void)conn_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Connection* c = conn_;
  conn_ = nullptr;
  // COMMIT of a transaction that already failed "succeeds" with the tag ROLLBACK.
  PGresult* res = PQexec(c->raw(), "COMMIT");
  bool rolled_back = res && PQresultStatus(res) == PGRES_COMMAND_OK && std::string(PQcmdStatus(res)) == "ROLLBACK";
  if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
    PQclear(res);
    if (rolled_back) return Status::Query("the transaction was rolled back because an earlier statement failed");
    return Status::Ok();
  }
  if (res) PQclear(res);
  return Status::Query("COMMIT failed: " + std::string(PQerrorMessage(c->raw())));
}

Status Transaction::Rollback() {
  Connection* c = conn_;
  conn_ = nullptr;
  return c->Exec("ROLLBACK");
}

}  // namespace pgk::pg
