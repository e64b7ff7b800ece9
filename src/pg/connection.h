// A thin RAII wrapper over libpq. One Connection owns one PGconn; results own their
// PGresult. Values always travel as parameters (text format); identifiers are quoted by
// the caller with pg/quote.h. Not thread-safe: use one Connection per thread.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgk::pg {

using Param = std::optional<std::string>;  // nullopt is SQL NULL
using Params = std::vector<Param>;

// The server's structured error fields for the last failed command.
struct ServerError {
  std::string severity;
  std::string sqlstate;
  std::string message;
  std::string detail;
  std::string hint;
  std::string context;
  int position = 0;  // 1-based character offset into the statement, 0 if unknown
};

struct Notice {
  std::string severity;  // NOTICE, WARNING, INFO, ...
  std::string message;
};

class QueryResult {
 public:
  QueryResult() = default;
  explicit QueryResult(PGresult* res) : res_(res, &PQclear) {}

  int rows() const { return res_ ? PQntuples(res_.get()) : 0; }
  int cols() const { return res_ ? PQnfields(res_.get()) : 0; }
  // Column index by name; -1 if absent.
  int Col(const char* name) const { return res_ ? PQfnumber(res_.get(), name) : -1; }
  std::string ColName(int c) const { return PQfname(res_.get(), c); }
  bool IsNull(int r, int c) const { return PQgetisnull(res_.get(), r, c) != 0; }
  std::string_view Get(int r, int c) const {
    return {PQgetvalue(res_.get(), r, c), static_cast<size_t>(PQgetlength(res_.get(), r, c))};
  }
  std::string GetString(int r, int c) const { return std::string(Get(r, c)); }
  std::optional<std::string> GetOpt(int r, int c) const {
    if (IsNull(r, c)) return std::nullopt;
    return GetString(r, c);
  }
  int64_t GetInt(int r, int c, int64_t if_null = 0) const;
  double GetDouble(int r, int c, double if_null = 0) const;
  bool GetBool(int r, int c) const { return !IsNull(r, c) && Get(r, c) == "t"; }
  // Number of rows affected by INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  std::shared_ptr<PGresult> res_;
};

struct ConnectOptions {
  std::string application_name = "pgkeeper";
  int connect_timeout_s = 10;  // used only when neither the conninfo nor PGCONNECT_TIMEOUT set one
  // Sets what pg_dump sets so that values written as text (COPY) read back the same on
  // any server whatever the role's or database's defaults: extra_float_digits = 3 (no
  // rounded floats), DateStyle = ISO (no DMY/MDY ambiguity), IntervalStyle = postgres.
  // For backup and restore sessions; never for sessions running the user's SQL.
  bool portable_output = false;
  // "true" opens a physical replication connection (walsender mode: replication commands
  // over the simple query protocol only, see SimpleQuery). The application_name then
  // overrides one in the conninfo: the server names synchronous standbys by it.
  std::string replication;
};

class Connection {
 public:
  // Connects and returns a Connection error (exit 3) with a hint on what to try.
  // A syntactically bad conninfo is an InvalidArgument error (exit 2).
  static Result<Connection> Connect(const std::string& conninfo, const ConnectOptions& options = {});

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection();

  // One statement with parameters ($1, $2, ...).
  Result<QueryResult> Query(const std::string& sql, const Params& params = {});
  // Any number of statements, no parameters (simple protocol). For DDL scripts.
  Status Exec(const std::string& sql);
  // One statement over the simple query protocol, with its rows: what a replication
  // connection accepts (IDENTIFY_SYSTEM, SHOW, ...). No parameters: quote with pg/quote.h.
  // A CopyBoth response (START_REPLICATION) is a success: the stream follows on raw().
  Result<QueryResult> SimpleQuery(const std::string& sql);
  // First column of the first row (error when there is no row).
  Result<std::string> QueryValue(const std::string& sql, const Params& params = {});

  // COPY ... TO STDOUT: `sink` receives each chunk (one row in text format, as libpq
  // delivers). Returning an error from the sink cancels the COPY.
  Status CopyOut(const std::string& sql, const std::function<Status(std::string_view)>& sink);
  // COPY ... FROM STDIN: call `producer` until it returns false; it appends data to `buf`.
  // Returns the rows the server stored (its "COPY n" command tag).
  Result<int64_t> CopyIn(const std::string& sql, const std::function<Result<bool>(std::string& buf)>& producer);

  // Notices (RAISE NOTICE, server warnings) go here; by default they are logged.
  void OnNotice(std::function<void(const Notice&)> handler);

  const ServerError& last_error() const { return last_error_; }
  int server_version() const { return PQserverVersion(conn_.get()); }
  int backend_pid() const { return PQbackendPID(conn_.get()); }
  std::string database() const { return PQdb(conn_.get()); }
  std::string user() const { return PQuser(conn_.get()); }
  std::string host() const;
  std::string port() const { return PQport(conn_.get()); }
  bool ssl_in_use() const { return PQsslInUse(conn_.get()) != 0; }
  bool in_transaction() const { return PQtransactionStatus(conn_.get()) != PQTRANS_IDLE; }
  // Password-masked description of the connection, for messages.
  const std::string& display() const { return display_; }
  PGconn* raw() { return conn_.get(); }
  // Asks the server to cancel the running command (safe from another thread).
  void Cancel();

 private:
  Connection() = default;
  Status FromResult(PGresult* res, const std::string& sql);

  std::unique_ptr<PGconn, void (*)(PGconn*)> conn_{nullptr, &PQfinish};
  std::string display_;
  ServerError last_error_;
  std::unique_ptr<std::function<void(const Notice&)>> notice_handler_;
};

// BEGIN on construction, ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> Begin(Connection& conn, const std::string& mode = "");
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction(const Transaction&) = delete;
  ~Transaction();
  Status Commit();
  Status Rollback();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

// Builds the user-facing connection error from libpq's message.
Status ConnectionError(const std::string& libpq_message, const std::string& display);

}  // namespace pgk::pg
