// The libpq wrapper and connection resolution, against a real server.
#include <gtest/gtest.h>

#include <fstream>

#include "harness/harness.h"
#include "pg/conninfo.h"
#include "pg/copy_relay.h"
#include "pg/quote.h"

namespace pgk::test {

TEST(Connection, ParametersAndNulls) {
  auto db = CreateDatabase("conn_params");
  auto conn = Connect(db);
  auto r = conn.Query("SELECT $1::text, $2::int + 1, $3::text IS NULL",
                      {std::string("it's \"x\""), std::string("41"), std::nullopt});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->GetString(0, 0), "it's \"x\"");
  EXPECT_EQ(r->GetInt(0, 1), 42);
  EXPECT_TRUE(r->GetBool(0, 2));
}

TEST(Connection, QueryErrorCarriesSqlstateAndKeepsConnectionUsable) {
  auto conn = Connect(CreateDatabase("conn_err"));
  auto r = conn.Query("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(conn.last_error().sqlstate, "42P01");
  EXPECT_NE(r.status().message().find("no_such_table"), std::string::npos);
  EXPECT_EQ(r.status().exit_code(), 3);
  EXPECT_TRUE(conn.Query("SELECT 1").ok());
}

TEST(Connection, TransactionRollsBackUnlessCommitted) {
  auto conn = Connect(CreateDatabase("conn_tx"));
  ASSERT_TRUE(conn.Exec("CREATE TABLE t (x int)").ok());
  {
    auto tx = pg::Transaction::Begin(conn);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(conn.Exec("INSERT INTO t VALUES (1)").ok());
  }  // destroyed without Commit
  EXPECT_EQ(*conn.QueryValue("SELECT count(*) FROM t"), "0");
  {
    auto tx = pg::Transaction::Begin(conn);
    ASSERT_TRUE(conn.Exec("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(*conn.QueryValue("SELECT count(*) FROM t"), "1");
}

TEST(Connection, CommitOfFailedTransactionIsAnError) {
  auto conn = Connect(CreateDatabase("conn_tx_fail"));
  auto tx = pg::Transaction::Begin(conn);
  ASSERT_TRUE(tx.ok());
  EXPECT_FALSE(conn.Exec("SELECT 1/0").ok());
  Status s = tx->Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(conn.in_transaction());
}

TEST(Connection, CopyInAndOutRoundTrip) {
  auto conn = Connect(CreateDatabase("conn_copy"));
  ASSERT_TRUE(conn.Exec("CREATE TABLE t (id int, note text)").ok());
  int sent = 0;
  auto in = conn.CopyIn("COPY t FROM STDIN", [&](std::string& buf) -> Result<bool> {
    for (int i = 0; i < 1000 && sent < 10000; ++i, ++sent)
      buf += std::to_string(sent) + "\tnote\\t" + std::to_string(sent) + "\n";
    return sent < 10000;
  });
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(*in, 10000);  // the server's own count of what it stored
  EXPECT_EQ(*conn.QueryValue("SELECT count(*) FROM t"), "10000");
  EXPECT_EQ(*conn.QueryValue("SELECT note FROM t WHERE id = 7"), "note\t7");
  int64_t rows = 0;
  size_t bytes = 0;
  Status out = conn.CopyOut("COPY t TO STDOUT", [&](std::string_view chunk) {
    ++rows;
    bytes += chunk.size();
    return Status::Ok();
  });
  ASSERT_TRUE(out.ok()) << out.ToString();
  EXPECT_EQ(rows, 10000);
  EXPECT_GT(bytes, 10000u);
}

TEST(Connection, CopyInProducerErrorAbortsCleanly) {
  auto conn = Connect(CreateDatabase("conn_copy_abort"));
  ASSERT_TRUE(conn.Exec("CREATE TABLE t (id int)").ok());
  auto in = conn.CopyIn("COPY t FROM STDIN", [&](std::string& buf) -> Result<bool> {
    buf += "1\n";
    return Status::IO("source went away");
  });
  EXPECT_FALSE(in.ok());
  EXPECT_NE(in.status().message().find("source went away"), std::string::npos);
  EXPECT_EQ(*conn.QueryValue("SELECT count(*) FROM t"), "0");
}

// Rows streamed between two sessions (dr's export compares a live table with a restored
// copy this way): all arrive, through a buffer far smaller than the data; a source that
// fails halfway aborts the target's COPY, which then stores nothing.
TEST(Connection, RelayCopyStreamsBetweenSessionsAndFailsAsAWhole) {
  auto from = Connect(CreateDatabase("conn_relay_from"));
  auto to = Connect(CreateDatabase("conn_relay_to"));
  ASSERT_TRUE(to.Exec("CREATE TABLE t (id int, note text)").ok());
  auto rows = pg::RelayCopy(from, "COPY (SELECT g, repeat('x', 50) FROM generate_series(1, 300000) g) TO STDOUT", to,
                            "COPY t FROM STDIN", 64 << 10);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 300000);
  EXPECT_EQ(*to.QueryValue("SELECT count(*) || ' ' || sum(id) FROM t"), "300000 45000150000");

  ASSERT_TRUE(to.Exec("TRUNCATE t").ok());
  auto failed =
      pg::RelayCopy(from, "COPY (SELECT g, (1 / (200000 - g))::text FROM generate_series(1, 300000) g) TO STDOUT", to,
                    "COPY t FROM STDIN", 64 << 10);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("division by zero"), std::string::npos) << failed.status().ToString();
  EXPECT_EQ(*to.QueryValue("SELECT count(*) FROM t"), "0");
  // Both sessions are usable afterwards.
  EXPECT_EQ(*from.QueryValue("SELECT 1"), "1");
  EXPECT_EQ(*to.QueryValue("SELECT 1"), "1");

  // The target fails (a row that does not fit): the source's COPY is cancelled.
  auto rejected = pg::RelayCopy(from, "COPY (SELECT g, 'n' FROM generate_series(1, 300000) g) TO STDOUT", to,
                                "COPY t (id) FROM STDIN", 64 << 10);
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("extra data"), std::string::npos) << rejected.status().ToString();
  EXPECT_EQ(*to.QueryValue("SELECT count(*) FROM t"), "0");
  EXPECT_EQ(*from.QueryValue("SELECT 1"), "1");
}

TEST(Connection, CopyOutSinkErrorStopsTheCopy) {
  auto conn = Connect(CreateDatabase("conn_copy_sink"));
  int calls = 0;
  Status out = conn.CopyOut("COPY (SELECT g FROM generate_series(1, 1000000) g) TO STDOUT",
                            [&](std::string_view) { return ++calls == 10 ? Status::IO("disk full") : Status::Ok(); });
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.message().find("disk full"), std::string::npos);
  EXPECT_TRUE(conn.Query("SELECT 1").ok());
}

TEST(Connection, NoticesReachTheHandler) {
  auto conn = Connect(CreateDatabase("conn_notice"));
  std::vector<std::string> seen;
  conn.OnNotice([&](const pg::Notice& n) { seen.push_back(n.severity + ":" + n.message); });
  ASSERT_TRUE(conn.Exec("DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$").ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "NOTICE:hello 42");
}

TEST(Connection, AwkwardIdentifiersSurviveQuoting) {
  auto conn = Connect(CreateDatabase("conn_ident"));
  std::string schema = "Sch\"ema ü";
  std::string table = "Tab le;DROP";
  ASSERT_TRUE(conn.Exec("CREATE SCHEMA " + pg::QuoteIdent(schema)).ok());
  ASSERT_TRUE(conn.Exec("CREATE TABLE " + pg::QuoteQualified(schema, table) + " (x int)").ok());
  auto r = conn.Query("SELECT count(*) FROM " + pg::QuoteQualified(schema, table));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST(Connection, DatabaseCanBeSwitched) {
  auto db = CreateDatabase("conn_switch");
  auto other = pg::WithDatabase(UrlWithPassword(db), "postgres");
  ASSERT_TRUE(other.ok());
  auto conn = pg::Connection::Connect(*other);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->database(), "postgres");
  EXPECT_EQ(conn->display().find(Password()), std::string::npos);
}

// --db > DATABASE_URL > config file > PG* environment, end to end through `check`.
TEST(ConnectionResolution, OrderIsFlagEnvConfigLibpq) {
  std::string flag_db = CreateDatabase("res_flag");
  std::string env_db = CreateDatabase("res_env");
  std::string cfg_db = CreateDatabase("res_cfg");
  std::string pg_db = CreateDatabase("res_pgenv");
  std::string dir = TempPath("resolution");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/pgkeeper.toml") << "[database]\nurl = \"" << UrlWithPassword(cfg_db) << "\"\n";
  std::map<std::string, std::string> pgenv = {{"PGHOST", "127.0.0.1"},
                                              {"PGPORT", std::to_string(Cluster().port())},
                                              {"PGUSER", "postgres"},
                                              {"PGPASSWORD", Password()},
                                              {"PGDATABASE", pg_db}};
  auto env_all = pgenv;
  env_all["DATABASE_URL"] = UrlWithPassword(env_db);

  auto r = RunCli({"check", "--json", "--db", UrlWithPassword(flag_db)}, env_all, dir);
  EXPECT_EQ(r.Json()["connection"]["database"], flag_db);
  EXPECT_EQ(r.Json()["connection"]["source"], "--db");

  r = RunCli({"check", "--json"}, env_all, dir);
  EXPECT_EQ(r.Json()["connection"]["database"], env_db);
  EXPECT_EQ(r.Json()["connection"]["source"], "DATABASE_URL");

  r = RunCli({"check", "--json"}, pgenv, dir);
  EXPECT_EQ(r.Json()["connection"]["database"], cfg_db);
  EXPECT_EQ(r.Json()["connection"]["source"], "config file pgkeeper.toml");

  r = RunCli({"check", "--json"}, pgenv, TempPath(""));
  EXPECT_EQ(r.Json()["connection"]["database"], pg_db);
  EXPECT_EQ(r.Json()["connection"]["source"], "libpq environment");

  // key=value conninfo and the postgres:// scheme work too.
  r = RunCli({"check", "--json", "--db",
              "host=127.0.0.1 port=" + std::to_string(Cluster().port()) + " user=postgres password=" + Password() +
                  " dbname=" + flag_db},
             {}, dir);
  EXPECT_EQ(r.Json()["connection"]["database"], flag_db);
  std::string url = UrlWithPassword(flag_db);
  r = RunCli({"check", "--json", "--db", "postgres://" + url.substr(std::string("postgresql://").size())}, {}, dir);
  EXPECT_EQ(r.Json()["connection"]["database"], flag_db);
  for (const auto& out : {r.out, r.err}) EXPECT_EQ(out.find(Password()), std::string::npos);
}

TEST(ConnectionResolution, ServiceFileIsUsed) {
  std::string db = CreateDatabase("res_service");
  std::string services = TempPath("pg_service.conf");
  std::ofstream(services) << "[pgkeeper_test]\nhost=127.0.0.1\nport=" << Cluster().port()
                          << "\nuser=postgres\ndbname=" << db << "\n";
  auto r = RunCli({"check", "--json"},
                  {{"PGSERVICEFILE", services}, {"PGSERVICE", "pgkeeper_test"}, {"PGPASSWORD", Password()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["connection"]["database"], db);
  EXPECT_EQ(r.Json()["connection"]["source"], "libpq environment");
  // A service named in --db works the same way.
  r = RunCli({"check", "--json", "--db", "service=pgkeeper_test"},
             {{"PGSERVICEFILE", services}, {"PGPASSWORD", Password()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["connection"]["database"], db);
}

TEST(ConnectionResolution, PgpassFileIsUsed) {
  std::string db = CreateDatabase("res_pgpass");
  std::string pgpass = TempPath("pgpass_test");
  std::ofstream(pgpass) << "127.0.0.1:" << Cluster().port() << ":*:postgres:" << Password() << "\n";
  std::filesystem::permissions(pgpass, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto r = RunCli(
      {"check", "--json", "--db", "postgresql://postgres@127.0.0.1:" + std::to_string(Cluster().port()) + "/" + db},
      {{"PGPASSFILE", pgpass}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["connection"]["database"], db);
}

}  // namespace pgk::test
