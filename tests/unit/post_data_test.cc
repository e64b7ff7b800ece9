#include "restore/post_data.h"

#include <gtest/gtest.h>

namespace pgk::restore {
namespace {

// The shape of pg_dump 15's post-data section, with the statements it reorders and those
// it must leave in place.
constexpr const char kPostData[] = R"SQL(
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
SET default_tablespace = '';

ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (aid);
ALTER TABLE ONLY "Odd Schema"."T"
    ADD CONSTRAINT "T_u" UNIQUE (x);
CREATE INDEX accounts_bid ON public.accounts USING btree (bid);
CREATE INDEX parent_idx ON ONLY public.parent USING btree (k);
SET default_tablespace = fast;
CREATE UNIQUE INDEX child_k ON public.child USING btree (k);
SET default_tablespace = '';
ALTER INDEX public.parent_idx ATTACH PARTITION public.child_k;
CREATE TRIGGER t BEFORE INSERT ON public.accounts FOR EACH ROW EXECUTE FUNCTION public.f();
ALTER TABLE ONLY public.history
    ADD CONSTRAINT history_aid_fkey FOREIGN KEY (aid) REFERENCES public.accounts(aid);
ALTER TABLE public.accounts
    ADD CONSTRAINT positive CHECK (abalance > -1000) NOT VALID;
)SQL";

TEST(PostDataPlanTest, GroupsIndexBuildsByTableWithTheirSettings) {
  PostDataPlan plan = PlanPostData(kPostData);
  ASSERT_EQ(plan.builds.size(), 4u);
  EXPECT_EQ(plan.builds[0].table, std::make_pair(std::string("public"), std::string("accounts")));
  ASSERT_EQ(plan.builds[0].statements.size(), 2u);  // the primary key, then the index, in order
  EXPECT_NE(plan.builds[0].statements[0].find("accounts_pkey PRIMARY KEY"), std::string::npos);
  EXPECT_NE(plan.builds[0].statements[1].find("CREATE INDEX accounts_bid"), std::string::npos);
  EXPECT_EQ(plan.builds[1].table, std::make_pair(std::string("Odd Schema"), std::string("T")));
  EXPECT_EQ(plan.builds[2].table, std::make_pair(std::string("public"), std::string("parent")));
  EXPECT_EQ(plan.builds[3].table, std::make_pair(std::string("public"), std::string("child")));
  // Every build carries the settings in force at its place in the script.
  const std::string& child = plan.builds[3].statements[0];
  EXPECT_NE(child.find("set_config('search_path', '', false)"), std::string::npos);
  EXPECT_NE(child.find("SET default_tablespace = fast;\nCREATE UNIQUE INDEX child_k"), std::string::npos);
  EXPECT_EQ(plan.builds[2].statements[0].find("fast"), std::string::npos);
}

TEST(PostDataPlanTest, KeepsEverythingElseInOrder) {
  PostDataPlan plan = PlanPostData(kPostData);
  const std::string& rest = plan.rest;
  for (const char* gone : {"PRIMARY KEY", "CREATE INDEX", "CREATE UNIQUE INDEX", "\"T_u\""}) {
    EXPECT_EQ(rest.find(gone), std::string::npos) << gone;
  }
  size_t attach = rest.find("ATTACH PARTITION");
  size_t trigger = rest.find("CREATE TRIGGER");
  size_t fk = rest.find("FOREIGN KEY");
  size_t check = rest.find("NOT VALID");
  ASSERT_NE(attach, std::string::npos);
  EXPECT_LT(attach, trigger);
  EXPECT_LT(trigger, fk);
  EXPECT_LT(fk, check);
  EXPECT_EQ(rest.find("SET statement_timeout = 0;"), 0u);
}

TEST(PostDataPlanTest, NothingToBuild) {
  PostDataPlan plan = PlanPostData("SET x = 1;\nCREATE TRIGGER t AFTER INSERT ON public.a EXECUTE FUNCTION f();\n");
  EXPECT_TRUE(plan.builds.empty());
  EXPECT_EQ(plan.rest, "SET x = 1;\nCREATE TRIGGER t AFTER INSERT ON public.a EXECUTE FUNCTION f();\n");
  EXPECT_TRUE(PlanPostData("").rest.empty());
}

}  // namespace
}  // namespace pgk::restore
