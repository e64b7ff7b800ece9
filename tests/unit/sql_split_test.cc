#include "migrate/sql_split.h"

#include <gtest/gtest.h>

namespace pgk::migrate {
namespace {

std::vector<std::string> Texts(std::string_view sql) {
  std::vector<std::string> out;
  for (const Statement& s : SplitStatements(sql)) out.push_back(s.text);
  return out;
}

using Strings = std::vector<std::string>;

TEST(SqlSplit, SplitsOnTopLevelSemicolons) {
  EXPECT_EQ(Texts("SELECT 1; SELECT 2;\nSELECT 3"), (Strings{"SELECT 1", "SELECT 2", "SELECT 3"}));
  EXPECT_EQ(Texts(""), Strings{});
  EXPECT_EQ(Texts("  \n\t "), Strings{});
  EXPECT_EQ(Texts(";;; ;\n;"), Strings{});
  EXPECT_EQ(Texts("SELECT 1;;SELECT 2"), (Strings{"SELECT 1", "SELECT 2"}));
}

TEST(SqlSplit, TrimsWhitespaceAndKeepsInnerComments) {
  EXPECT_EQ(Texts("  \n  SELECT 1 -- one\n  + /* two */ 2  \n ;"), Strings{"SELECT 1 -- one\n  + /* two */ 2"});
}

TEST(SqlSplit, DropsCommentOnlyStatements) {
  EXPECT_EQ(Texts("-- header\n/* block; */\n;\nSELECT 1; -- trailing; comment\n/* end */"), Strings{"SELECT 1"});
}

TEST(SqlSplit, LeadingCommentsAreNotPartOfTheStatement) {
  auto s = SplitStatements("-- a comment; with a semicolon\n/* and\n a block */ CREATE TABLE t (id int);");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].text, "CREATE TABLE t (id int)");
  EXPECT_EQ(s[0].line, 3);
  EXPECT_EQ(s[0].offset, 50u);
}

TEST(SqlSplit, LinesAndOffsets) {
  std::string sql = "SELECT 1;\n\n  SELECT\n 2;\r\n-- x\nSELECT 3; SELECT 4";
  auto s = SplitStatements(sql);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].line, 1);
  EXPECT_EQ(s[0].offset, 0u);
  EXPECT_EQ(s[1].line, 3);
  EXPECT_EQ(s[1].text, "SELECT\n 2");
  EXPECT_EQ(sql.substr(s[1].offset, 6), "SELECT");
  EXPECT_EQ(s[2].line, 6);
  EXPECT_EQ(s[3].line, 6);
  EXPECT_EQ(sql.substr(s[3].offset), "SELECT 4");
}

TEST(SqlSplit, LinesCountNewlinesInsideStringsAndComments) {
  auto s = SplitStatements("SELECT 'a\nb;\nc';\n/* x\ny */\nSELECT $$\n;\n$$;\nSELECT 3;");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[1].line, 6);
  EXPECT_EQ(s[2].line, 9);
}

TEST(SqlSplit, SingleQuotedStringsWithDoubledQuotes) {
  EXPECT_EQ(Texts("INSERT INTO t VALUES ('a;b', 'it''s; fine');SELECT 2"),
            (Strings{"INSERT INTO t VALUES ('a;b', 'it''s; fine')", "SELECT 2"}));
  // With standard_conforming_strings, a backslash does not escape in '...'.
  EXPECT_EQ(Texts(R"(SELECT 'C:\';SELECT 2)"), (Strings{R"(SELECT 'C:\')", "SELECT 2"}));
}

TEST(SqlSplit, EscapeStrings) {
  EXPECT_EQ(Texts(R"(SELECT E'it\'s; here';SELECT 2)"), (Strings{R"(SELECT E'it\'s; here')", "SELECT 2"}));
  EXPECT_EQ(Texts(R"(SELECT e'\\';SELECT 2)"), (Strings{R"(SELECT e'\\')", "SELECT 2"}));
  EXPECT_EQ(Texts(R"(SELECT E'a''b\\\';c';SELECT 2)"), (Strings{R"(SELECT E'a''b\\\';c')", "SELECT 2"}));
  // "some'" is an identifier followed by a plain string, not an E'' string.
  EXPECT_EQ(Texts(R"(SELECT name'\';SELECT 2)"), (Strings{R"(SELECT name'\')", "SELECT 2"}));
}

TEST(SqlSplit, QuotedIdentifiers) {
  EXPECT_EQ(Texts(R"(CREATE TABLE "a;b" ("x"";" int);SELECT 2)"),
            (Strings{R"(CREATE TABLE "a;b" ("x"";" int))", "SELECT 2"}));
}

TEST(SqlSplit, DollarQuotes) {
  std::string fn =
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
      "BEGIN\n  DROP TABLE x; -- not a comment end $\n  RETURN NEW;\nEND;\n$$";
  EXPECT_EQ(Texts(fn + ";\nSELECT 2;"), (Strings{fn, "SELECT 2"}));
  std::string tagged = "DO $body$ BEGIN PERFORM $$;$$; PERFORM ';'; END $body$";
  EXPECT_EQ(Texts(tagged + ";SELECT 2"), (Strings{tagged, "SELECT 2"}));
  std::string under = "DO $_1$ SELECT 1; $_1$";
  EXPECT_EQ(Texts(under + ";SELECT 2"), (Strings{under, "SELECT 2"}));
}

TEST(SqlSplit, DollarSignsThatAreNotQuotes) {
  // Positional parameters and '$' inside identifiers do not open a dollar quote.
  EXPECT_EQ(Texts("PREPARE p AS SELECT $1;SELECT a$b$ FROM t;SELECT 3"),
            (Strings{"PREPARE p AS SELECT $1", "SELECT a$b$ FROM t", "SELECT 3"}));
}

TEST(SqlSplit, NestedBlockComments) {
  EXPECT_EQ(Texts("SELECT 1 /* outer /* inner; */ still; comment */ + 1;SELECT 2"),
            (Strings{"SELECT 1 /* outer /* inner; */ still; comment */ + 1", "SELECT 2"}));
}

TEST(SqlSplit, LineCommentsHideSemicolonsAndQuotes) {
  EXPECT_EQ(Texts("SELECT 1 -- it's; a comment\n;SELECT 2"), (Strings{"SELECT 1 -- it's; a comment", "SELECT 2"}));
}

TEST(SqlSplit, SemicolonsInsideParentheses) {
  EXPECT_EQ(Texts("CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);SELECT 3"),
            (Strings{"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)", "SELECT 3"}));
}

TEST(SqlSplit, BeginAtomicBodyIsOneStatement) {
  std::string fn =
      "CREATE OR REPLACE FUNCTION grade(score int) RETURNS text LANGUAGE sql\n"
      "BEGIN ATOMIC\n"
      "  SELECT CASE WHEN score > 90 THEN 'a' ELSE 'b' END;\n"
      "  SELECT CASE score WHEN 1 THEN (CASE WHEN true THEN 'x' END) END;\n"
      "END";
  EXPECT_EQ(Texts(fn + ";\nSELECT 2;"), (Strings{fn, "SELECT 2"}));
  std::string proc = "create procedure p() begin atomic insert into t values (1); insert into t values (2); end";
  EXPECT_EQ(Texts(proc + ";select 2"), (Strings{proc, "select 2"}));
}

TEST(SqlSplit, BeginOutsideRoutinesIsATransaction) {
  EXPECT_EQ(Texts("BEGIN; SELECT CASE WHEN true THEN 1 END; COMMIT;"),
            (Strings{"BEGIN", "SELECT CASE WHEN true THEN 1 END", "COMMIT"}));
  // The routine heuristic resets at each statement.
  EXPECT_EQ(Texts("CREATE FUNCTION f() RETURNS int RETURN 1; BEGIN; SELECT 1;"),
            (Strings{"CREATE FUNCTION f() RETURNS int RETURN 1", "BEGIN", "SELECT 1"}));
}

TEST(SqlSplit, UnterminatedConstructsRunToTheEnd) {
  EXPECT_EQ(Texts("SELECT 'abc; def"), Strings{"SELECT 'abc; def"});
  EXPECT_EQ(Texts("SELECT $$ abc; def"), Strings{"SELECT $$ abc; def"});
  EXPECT_EQ(Texts("SELECT 1 /* abc; def"), Strings{"SELECT 1 /* abc; def"});
  EXPECT_EQ(Texts("SELECT \"abc; def"), Strings{"SELECT \"abc; def"});
}

TEST(SqlSplit, StatementStartingWithAQuote) {
  auto s = SplitStatements("-- c\n  \"t\"; 'x'");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].text, "\"t\"");
  EXPECT_EQ(s[0].line, 2);
  EXPECT_EQ(s[1].text, "'x'");
}

TEST(SqlSplitNormalize, UpperCasesCodeAndCollapsesWhitespace) {
  EXPECT_EQ(NormalizeForMatching("  create\n\tindex  concurrently idx_a on t(a)  "),
            "CREATE INDEX CONCURRENTLY IDX_A ON T(A)");
}

TEST(SqlSplitNormalize, RemovesComments) {
  EXPECT_EQ(NormalizeForMatching("alter table t -- note: drop column x\n add column y int /* not /* null */ */"),
            "ALTER TABLE T ADD COLUMN Y INT");
  EXPECT_EQ(NormalizeForMatching("a/**/b"), "A B");
}

TEST(SqlSplitNormalize, KeepsQuotedTextVerbatim) {
  EXPECT_EQ(NormalizeForMatching("alter table \"Weird  Table\" add c text default 'Mixed  Case'"),
            "ALTER TABLE \"Weird  Table\" ADD C TEXT DEFAULT 'Mixed  Case'");
  EXPECT_EQ(NormalizeForMatching("do $x$ begin -- keep\n end $x$"), "DO $x$ begin -- keep\n end $x$");
  EXPECT_EQ(NormalizeForMatching(R"(select e'it\'s')"), R"(SELECT E'it\'s')");
}

// "w:ALTER q:Name s:'x' n:1 p:(" for word, quoted identifier, string, number, symbol.
std::string Describe(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    const char* kind[] = {"w", "q", "s", "n", "p"};
    out += (out.empty() ? "" : " ") + std::string(kind[static_cast<int>(t.kind)]) + ":" + t.text;
  }
  return out;
}

TEST(SqlSplitTokenize, KindsAndText) {
  EXPECT_EQ(Describe(Tokenize(R"(ALTER TABLE app."Weird ""T""" ADD x int DEFAULT 1.5 -- c
                                 CHECK (x > 0), ADD y text DEFAULT E'\'' || $q$;$q$)")),
            R"(w:ALTER w:TABLE w:app p:. q:Weird "T" w:ADD w:x w:int w:DEFAULT n:1.5 w:CHECK p:( w:x p:> n:0 p:) )"
            R"(p:, w:ADD w:y w:text w:DEFAULT s:E'\'' p:| p:| s:$q$;$q$)");
}

TEST(SqlSplitTokenize, OffsetsPointIntoTheInput) {
  std::string sql = "drop  \"T\"";
  auto t = Tokenize(sql);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(sql.substr(t[1].begin, t[1].end - t[1].begin), "\"T\"");
}

TEST(SqlSplitTokenize, KeywordsInsideBodiesAreNotWords) {
  for (const Token& tok : Tokenize("DO $$ BEGIN CREATE INDEX i ON t (a); END $$")) {
    if (tok.kind == Token::Kind::kWord) {
      EXPECT_EQ(tok.text, "DO");
    }
  }
}

}  // namespace
}  // namespace pgk::migrate
