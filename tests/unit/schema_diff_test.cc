#include <gtest/gtest.h>

#include "schema/diff.h"
#include "schema/json.h"

namespace pgk::schema {

namespace {

Snapshot Base() {
  Snapshot s;
  s.schemas.push_back({.name = "public"});
  Table t;
  t.schema = "public";
  t.name = "positions";
  t.columns = {{.name = "id", .type = "text", .not_null = true},
               {.name = "amount", .type = "numeric(20,4)", .not_null = true},
               {.name = "state", .type = "text", .not_null = true, .default_expr = "'pending'::text"}};
  t.constraints = {{.name = "positions_pkey", .kind = "primary key", .definition = "PRIMARY KEY (id)", .columns = {"id"}},
                   {.name = "positions_asset_fkey",
                    .kind = "foreign key",
                    .definition = "FOREIGN KEY (asset_id) REFERENCES public.assets(id)",
                    .columns = {"asset_id"},
                    .ref_table = "public.assets",
                    .ref_columns = {"id"}}};
  t.indexes = {{.name = "positions_pkey", .definition = "CREATE UNIQUE INDEX positions_pkey ON public.positions USING btree (id)",
                .method = "btree", .unique = true, .keys = {"id"}, .constraint = "positions_pkey"},
               {.name = "positions_state_idx", .definition = "CREATE INDEX positions_state_idx ON public.positions USING btree (state)",
                .method = "btree", .keys = {"state"}}};
  s.tables.push_back(t);
  s.enums.push_back({.schema = "public", .name = "mood", .labels = {"sad", "ok", "happy"}});
  Canonicalize(s);
  return s;
}

const Difference* Find(const DiffResult& d, const std::string& what, const std::string& item = "") {
  for (const auto& x : d.differences)
    if (x.what == what && (item.empty() || x.item == item)) return &x;
  return nullptr;
}

}  // namespace

TEST(SchemaDiff, IdenticalHasNoDifferences) {
  auto d = Diff(Base(), Base());
  EXPECT_TRUE(d.differences.empty());
  EXPECT_FALSE(d.Fails(true));
}

TEST(SchemaDiff, MissingAndExtraObjects) {
  Snapshot actual = Base();
  actual.tables[0].columns.pop_back();                    // state missing
  actual.tables[0].columns.push_back({.name = "note", .type = "text"});  // extra
  Table extra;
  extra.schema = "public";
  extra.name = "hand_made";
  actual.tables.push_back(extra);
  auto d = Diff(Base(), actual);
  auto* missing = Find(d, "missing", "column state");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->severity, Severity::kError);
  EXPECT_EQ(missing->object, "public.positions");
  auto* extra_col = Find(d, "extra", "column note");
  ASSERT_NE(extra_col, nullptr);
  EXPECT_EQ(extra_col->severity, Severity::kWarning);
  bool extra_table = false;
  for (const auto& x : d.differences) extra_table |= x.object == "public.hand_made" && x.what == "extra";
  EXPECT_TRUE(extra_table);
  EXPECT_TRUE(d.Fails(false));
}

TEST(SchemaDiff, TypeNullabilityDefault) {
  Snapshot actual = Base();
  actual.tables[0].columns[1].type = "numeric(10,2)";
  actual.tables[0].columns[0].not_null = false;
  actual.tables[0].columns[2].default_expr = "'funded'::text";
  auto d = Diff(Base(), actual);
  ASSERT_NE(Find(d, "type"), nullptr);
  EXPECT_EQ(Find(d, "type")->severity, Severity::kError);
  EXPECT_EQ(Find(d, "type")->Message(), "column amount: type differs: expected numeric(20,4), found numeric(10,2)");
  EXPECT_EQ(Find(d, "nullability")->severity, Severity::kError);
  EXPECT_EQ(Find(d, "default")->severity, Severity::kWarning);
  // Only the default differing: a warning, which fails only with --strict.
  Snapshot only_default = Base();
  only_default.tables[0].columns[2].default_expr = std::nullopt;
  auto d2 = Diff(Base(), only_default);
  EXPECT_FALSE(d2.Fails(false));
  EXPECT_TRUE(d2.Fails(true));
}

TEST(SchemaDiff, ForeignKeyTarget) {
  Snapshot actual = Base();
  auto& fk = actual.tables[0].constraints[0].kind == "foreign key" ? actual.tables[0].constraints[0] : actual.tables[0].constraints[1];
  fk.ref_table = "public.asset_templates";
  fk.definition = "FOREIGN KEY (asset_id) REFERENCES public.asset_templates(id)";
  auto d = Diff(Base(), actual);
  auto* x = Find(d, "foreign key target");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->severity, Severity::kError);
  EXPECT_EQ(x->expected, "public.assets(id)");
  EXPECT_EQ(x->actual, "public.asset_templates(id)");
}

TEST(SchemaDiff, IndexUnderAnotherNameIsAWarning) {
  Snapshot actual = Base();
  auto& idx = actual.tables[0].indexes[1];
  idx.name = "idx_positions_state";
  idx.definition = "CREATE INDEX idx_positions_state ON public.positions USING btree (state)";
  Canonicalize(actual);
  auto d = Diff(Base(), actual);
  ASSERT_EQ(d.differences.size(), 1u);
  EXPECT_EQ(d.differences[0].what, "name");
  EXPECT_EQ(d.differences[0].severity, Severity::kWarning);
  // A different definition under the same name is an error; a missing index too.
  Snapshot changed = Base();
  changed.tables[0].indexes[1].definition = "CREATE INDEX positions_state_idx ON public.positions USING hash (state)";
  EXPECT_EQ(Find(Diff(Base(), changed), "definition")->severity, Severity::kError);
  Snapshot gone = Base();
  gone.tables[0].indexes.pop_back();
  EXPECT_EQ(Find(Diff(Base(), gone), "missing")->severity, Severity::kError);
}

TEST(SchemaDiff, CommentsAndGrantsAreInfo) {
  Snapshot actual = Base();
  actual.tables[0].comment = "positions of holders";
  actual.tables[0].grants.push_back({.grantee = "reporting", .privilege = "SELECT"});
  auto d = Diff(Base(), actual);
  ASSERT_EQ(d.differences.size(), 2u);
  for (const auto& x : d.differences) EXPECT_EQ(x.severity, Severity::kInfo) << x.Message();
  EXPECT_FALSE(d.Fails(true));
}

TEST(SchemaDiff, EnumLabels) {
  Snapshot actual = Base();
  actual.enums[0].labels = {"sad", "happy", "ecstatic"};
  auto d = Diff(Base(), actual);
  EXPECT_EQ(Find(d, "missing", "label 'ok'")->severity, Severity::kError);
  EXPECT_EQ(Find(d, "extra", "label 'ecstatic'")->severity, Severity::kWarning);
}

TEST(SchemaDiff, ExcludeTables) {
  Snapshot s = Base();
  ExcludeTables(s, {"public.positions"});
  EXPECT_TRUE(s.tables.empty());
}

TEST(SchemaJson, RoundTripIsLossless) {
  Snapshot s = Base();
  s.tables[0].comment = "ünïcode \"quoted\"";
  s.not_compared["rules"] = 2;
  auto parsed = ParseSnapshot(SerializeSnapshot(s), "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(*parsed == s);
  EXPECT_EQ(SerializeSnapshot(*parsed), SerializeSnapshot(s)) << "serialisation is stable";
}

TEST(SchemaJson, RejectsOtherDocuments) {
  EXPECT_EQ(ParseSnapshot("{\"tables\": []}", "x.json").status().code(), Code::kMalformed);
  EXPECT_EQ(ParseSnapshot("{\"format\": 2}", "x.json").status().code(), Code::kMalformed);
  EXPECT_EQ(ParseSnapshot("not json", "x.json").status().code(), Code::kMalformed);
  EXPECT_EQ(ParseSnapshot("{\"format\": 1, \"tables\": [{\"columns\": 5}]}", "x.json").status().code(), Code::kMalformed);
}

TEST(SchemaModel, QuoteIdentIfNeeded) {
  EXPECT_EQ(QuoteIdentIfNeeded("positions"), "positions");
  EXPECT_EQ(QuoteIdentIfNeeded("Positions"), "\"Positions\"");
  EXPECT_EQ(QuoteIdentIfNeeded("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteIdentIfNeeded("order"), "\"order\"");
  EXPECT_EQ(QuoteIdentIfNeeded("1abc"), "\"1abc\"");
  EXPECT_EQ(QuoteIdentIfNeeded("my table"), "\"my table\"");
  EXPECT_EQ(Qualified("Odd Schema", "t"), "\"Odd Schema\".t");
}

}  // namespace pgk::schema
