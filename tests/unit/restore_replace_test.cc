// The pure parts of `restore --replace`: names of the temporary and old databases, how
// database settings are rendered back into SQL, how sessions are described.
#include <gtest/gtest.h>

#include "pg/database_props.h"
#include "restore/replace.h"
#include "restore/sessions.h"

namespace pgk::restore {

TEST(ReplaceNames, TemporaryPrefixIsStablePerDatabase) {
  EXPECT_EQ(TemporaryPrefix("app"), TemporaryPrefix("app"));
  EXPECT_NE(TemporaryPrefix("app"), TemporaryPrefix("app2"));
  EXPECT_EQ(TemporaryPrefix("app").rfind("pgkeeper_replace_", 0), 0u);
  // Room for the random suffix whatever the database's name.
  EXPECT_EQ(TemporaryPrefix(std::string(63, 'x')).size(), 26u);
}

TEST(ReplaceNames, OldNameFitsAndNeverSplitsACharacter) {
  EXPECT_EQ(OldName("app", 0), "app_old_19700101T000000");
  std::string longest(63, 'a');
  EXPECT_EQ(OldName(longest, 0).size(), 63u);
  // 'é' is two bytes: a cut in the middle of one backs off to its start.
  std::string accented;
  for (int i = 0; i < 30; ++i) accented += "\xc3\xa9";
  std::string old = OldName(accented, 0);
  EXPECT_LE(old.size(), 63u);
  EXPECT_EQ(old.substr(old.size() - 20), "_old_19700101T000000");
  std::string kept = old.substr(0, old.size() - 20);
  EXPECT_EQ(kept.size() % 2, 0u);
}

TEST(DatabaseSettings, ListSettingsBecomeOneLiteralPerElement) {
  EXPECT_EQ(pg::SettingValueSql("search_path", "\"$user\", public"), "'$user', 'public'");
  EXPECT_EQ(pg::SettingValueSql("search_path", "\"Odd \"\"Schema\"\"\", x"), "'Odd \"Schema\"', 'x'");
  EXPECT_EQ(pg::SettingValueSql("SEARCH_PATH", "a"), "'a'");
  EXPECT_EQ(pg::SettingValueSql("work_mem", "7MB"), "'7MB'");
  EXPECT_EQ(pg::SettingValueSql("app.note", "it's, a list?"), "'it''s, a list?'");
  // A malformed list is kept whole rather than guessed at.
  EXPECT_EQ(pg::SettingValueSql("search_path", "\"unterminated"), "'\"unterminated'");
}

TEST(Sessions, DescribedByApplication) {
  EXPECT_EQ(DescribeSessions({{1, "billing", "app"}}), "1 session (billing: 1)");
  EXPECT_EQ(DescribeSessions({{1, "psql", "a"}, {2, "billing", "app"}, {3, "billing", "app"}}),
            "3 sessions (billing: 2, psql: 1)");
}

}  // namespace pgk::restore
