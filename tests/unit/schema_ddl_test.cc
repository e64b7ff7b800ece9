#include <gtest/gtest.h>

#include "schema/ddl.h"

namespace pgk::schema {
namespace {

// Position of `needle` in `sql`; fails the test when absent.
size_t At(const std::string& sql, const std::string& needle) {
  size_t at = sql.find(needle);
  EXPECT_NE(at, std::string::npos) << "missing: " << needle << "\nin:\n" << sql;
  return at;
}

bool Has(const std::string& sql, const std::string& needle) { return sql.find(needle) != std::string::npos; }

Column Col(std::string name, std::string type, bool not_null = false) {
  Column c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.not_null = not_null;
  return c;
}

Table MakeTable(std::string schema, std::string name, std::vector<Column> columns) {
  Table t;
  t.schema = std::move(schema);
  t.name = std::move(name);
  t.columns = std::move(columns);
  return t;
}

Constraint Con(std::string name, std::string kind, std::string definition) {
  Constraint c;
  c.name = std::move(name);
  c.kind = std::move(kind);
  c.definition = std::move(definition);
  return c;
}

Index Idx(std::string name, std::string definition, std::string constraint = "") {
  Index i;
  i.name = std::move(name);
  i.definition = std::move(definition);
  i.constraint = std::move(constraint);
  return i;
}

Function Func(std::string schema, std::string name, std::string args, std::string definition) {
  Function f;
  f.schema = std::move(schema);
  f.name = std::move(name);
  f.identity_args = std::move(args);
  f.kind = "function";
  f.result = "integer";
  f.definition = std::move(definition);
  return f;
}

View MakeView(std::string name, std::string definition, std::vector<std::string> depends_on) {
  View v;
  v.schema = "public";
  v.name = std::move(name);
  v.definition = std::move(definition);
  v.depends_on = std::move(depends_on);
  return v;
}

TEST(SchemaDdl, StartsWithSettingsAndEndsStatementsWithSemicolons) {
  Snapshot s;
  s.tables.push_back(MakeTable("public", "t", {Col("id", "integer", true)}));
  std::string sql = GenerateSql(s);
  EXPECT_EQ(sql.rfind("SET check_function_bodies = false;\nSET client_min_messages = warning;\n", 0), 0u) << sql;
  EXPECT_TRUE(Has(sql, "-- tables\nCREATE TABLE public.t (\n    id integer NOT NULL\n);\n")) << sql;
  EXPECT_FALSE(Has(sql, "-- views")) << "empty sections leave no header";
}

TEST(SchemaDdl, CreatesSchemasExceptPublicAndExtensions) {
  Snapshot s;
  s.schemas = {{.name = "Odd Schema"}, {.name = "app"}, {.name = "public", .comment = "standard public schema"}};
  s.extensions = {{.name = "pgcrypto", .schema = "app", .version = "1.3"}};
  std::string sql = GenerateSql(s);
  EXPECT_TRUE(Has(sql, "CREATE SCHEMA IF NOT EXISTS \"Odd Schema\";\nCREATE SCHEMA IF NOT EXISTS app;\n")) << sql;
  EXPECT_FALSE(Has(sql, "CREATE SCHEMA IF NOT EXISTS public"));
  EXPECT_LT(At(sql, "CREATE SCHEMA IF NOT EXISTS app;"),
            At(sql, "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA app VERSION '1.3' CASCADE;"));
}

TEST(SchemaDdl, TypesComeBeforeTablesAndCompositesFollowWhatTheyUse) {
  Snapshot s;
  s.enums = {{.schema = "public", .name = "mood", .labels = {"happy", "it's ok"}}};
  // "a_pair" sorts first but uses "b_point", which uses the domain and the enum.
  s.composites = {{.schema = "public", .name = "a_pair", .attributes = {{.name = "p", .type = "public.b_point[]"}}},
                  {.schema = "public",
                   .name = "b_point",
                   .attributes = {{.name = "x", .type = "public.positive"},
                                  {.name = "m", .type = "public.mood"},
                                  {.name = "label", .type = "text", .collation = "\"C\""}}}};
  s.domains = {{.schema = "public",
                .name = "positive",
                .base_type = "integer",
                .not_null = true,
                .default_expr = "1",
                .constraints = {{.name = "positive_check", .definition = "CHECK ((VALUE > 0))"},
                                {.name = "small", .definition = "CHECK ((VALUE < 100)) NOT VALID", .validated = false},
                                {.name = "tiny", .definition = "CHECK ((VALUE < 50))", .validated = false}}}};
  s.tables.push_back(MakeTable("public", "t", {Col("m", "public.mood"), Col("p", "public.a_pair")}));
  std::string sql = GenerateSql(s);
  size_t mood = At(sql, "CREATE TYPE public.mood AS ENUM ('happy', 'it''s ok');");
  size_t domain = At(sql, "CREATE DOMAIN public.positive AS integer DEFAULT 1 NOT NULL;");
  size_t point = At(sql,
                    "CREATE TYPE public.b_point AS (\n    x public.positive,\n    m public.mood,\n"
                    "    label text COLLATE \"C\"\n);");
  size_t pair = At(sql, "CREATE TYPE public.a_pair AS (\n    p public.b_point[]\n);");
  size_t table = At(sql, "CREATE TABLE public.t (");
  EXPECT_LT(mood, point);
  EXPECT_LT(domain, point);
  EXPECT_LT(point, pair);
  EXPECT_LT(pair, table);
  // Domain CHECKs may call functions: they are added at the end; NOT VALID once.
  size_t check = At(sql, "ALTER DOMAIN public.positive ADD CONSTRAINT positive_check CHECK ((VALUE > 0));");
  EXPECT_LT(table, check);
  At(sql, "ADD CONSTRAINT small CHECK ((VALUE < 100)) NOT VALID;");
  At(sql, "ADD CONSTRAINT tiny CHECK ((VALUE < 50)) NOT VALID;");
}

TEST(SchemaDdl, DomainDefaultCallingAFunctionIsSetAfterFunctions) {
  Snapshot s;
  s.domains = {{.schema = "public", .name = "code", .base_type = "text", .default_expr = "public.new_code()"}};
  s.functions = {Func("public", "new_code", "",
                      "CREATE OR REPLACE FUNCTION public.new_code()\n RETURNS text\n"
                      " LANGUAGE sql\nAS $function$select 'x'$function$\n")};
  std::string sql = GenerateSql(s);
  EXPECT_TRUE(Has(sql, "CREATE DOMAIN public.code AS text;\n")) << sql;
  EXPECT_LT(At(sql, "CREATE OR REPLACE FUNCTION public.new_code()"),
            At(sql, "ALTER DOMAIN public.code SET DEFAULT public.new_code();"));
}

TEST(SchemaDdl, SequencesBeforeTablesAndOwnershipAfter) {
  Snapshot s;
  s.sequences = {{.schema = "public",
                  .name = "t_id_seq",
                  .type = "integer",
                  .start = 10,
                  .increment = 2,
                  .min_value = 1,
                  .max_value = 2147483647,
                  .cache = 5,
                  .cycle = true,
                  .owned_by = "public.t.id"}};
  Table t = MakeTable("public", "t", {Col("id", "integer", true)});
  t.columns[0].default_expr = "nextval('public.t_id_seq'::regclass)";
  s.tables.push_back(t);
  std::string sql = GenerateSql(s);
  size_t seq = At(sql,
                  "CREATE SEQUENCE public.t_id_seq AS integer INCREMENT BY 2 MINVALUE 1 MAXVALUE 2147483647 "
                  "START WITH 10 CACHE 5 CYCLE;");
  size_t table = At(sql, "id integer DEFAULT nextval('public.t_id_seq'::regclass) NOT NULL");
  size_t owned = At(sql, "ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;");
  EXPECT_LT(seq, table);
  EXPECT_LT(table, owned);
}

TEST(SchemaDdl, ColumnSyntax) {
  Snapshot s;
  Table t = MakeTable("public", "t",
                      {Col("id", "bigint", true), Col("code", "bigint", true), Col("name", "text"),
                       Col("upper_name", "text"), Col("created", "timestamp with time zone", true)});
  t.columns[0].identity = "always";
  t.columns[1].identity = "by default";
  t.columns[2].collation = "\"C\"";
  t.columns[3].generated = "upper(name)";
  t.columns[4].default_expr = "now()";
  t.unlogged = true;
  t.options = {"fillfactor=70", "autovacuum_enabled=false"};
  s.tables.push_back(t);
  std::string sql = GenerateSql(s);
  EXPECT_TRUE(Has(sql,
                  "CREATE UNLOGGED TABLE public.t (\n"
                  "    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n"
                  "    code bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,\n"
                  "    name text COLLATE \"C\",\n"
                  "    upper_name text GENERATED ALWAYS AS (upper(name)) STORED,\n"
                  "    created timestamp with time zone DEFAULT now() NOT NULL\n"
                  ") WITH (fillfactor=70, autovacuum_enabled=false);\n"))
      << sql;
}

TEST(SchemaDdl, QuotesAwkwardNames) {
  Snapshot s;
  s.schemas = {{.name = "Odd Schema"}};
  Table t = MakeTable("Odd Schema", "we\"ird", {Col("Id", "integer", true), Col("select", "text")});
  t.constraints = {Con("Pk", "primary key", "PRIMARY KEY (\"Id\")")};
  t.constraints[0].comment = "the key";
  t.columns[1].comment = "a keyword";
  t.grants = {{.grantee = "Reader", .privilege = "SELECT"}};
  s.tables.push_back(t);
  std::string sql = GenerateSql(s);
  At(sql, "CREATE TABLE \"Odd Schema\".\"we\"\"ird\" (\n    \"Id\" integer NOT NULL,\n    \"select\" text\n);");
  At(sql, "ALTER TABLE ONLY \"Odd Schema\".\"we\"\"ird\" ADD CONSTRAINT \"Pk\" PRIMARY KEY (\"Id\");");
  At(sql, "COMMENT ON CONSTRAINT \"Pk\" ON \"Odd Schema\".\"we\"\"ird\" IS 'the key';");
  At(sql, "COMMENT ON COLUMN \"Odd Schema\".\"we\"\"ird\".\"select\" IS 'a keyword';");
  At(sql, "GRANT SELECT ON TABLE \"Odd Schema\".\"we\"\"ird\" TO \"Reader\";");
}

TEST(SchemaDdl, ForeignKeysComeAfterAllTablesKeysAndIndexes) {
  Snapshot s;
  Table a = MakeTable("public", "a", {Col("b_id", "integer")});
  a.constraints = {Con("a_b_fk", "foreign key", "FOREIGN KEY (b_id) REFERENCES public.b(id) DEFERRABLE")};
  Table b = MakeTable("public", "b", {Col("id", "integer", true), Col("code", "text")});
  b.constraints = {Con("b_code_key", "unique", "UNIQUE (code)"), Con("b_pkey", "primary key", "PRIMARY KEY (id)")};
  b.indexes = {Idx("b_code_key", "CREATE UNIQUE INDEX b_code_key ON public.b USING btree (code)", "b_code_key"),
               Idx("b_lower", "CREATE UNIQUE INDEX b_lower ON public.b USING btree (lower(code))"),
               Idx("b_pkey", "CREATE UNIQUE INDEX b_pkey ON public.b USING btree (id)", "b_pkey")};
  s.tables = {a, b};
  std::string sql = GenerateSql(s);
  size_t fk = At(sql,
                 "ALTER TABLE ONLY public.a ADD CONSTRAINT a_b_fk FOREIGN KEY (b_id) REFERENCES public.b(id) "
                 "DEFERRABLE;");
  EXPECT_LT(At(sql, "CREATE TABLE public.b"), fk);
  EXPECT_LT(At(sql, "ALTER TABLE ONLY public.b ADD CONSTRAINT b_pkey PRIMARY KEY (id);"), fk);
  EXPECT_LT(At(sql, "ALTER TABLE ONLY public.b ADD CONSTRAINT b_code_key UNIQUE (code);"), fk);
  EXPECT_LT(At(sql, "CREATE UNIQUE INDEX b_lower ON public.b USING btree (lower(code));"), fk);
  // Constraint-backed indexes come with their constraint.
  EXPECT_FALSE(Has(sql, "CREATE UNIQUE INDEX b_pkey")) << sql;
}

TEST(SchemaDdl, ConstraintsSayNotValidOnce) {
  Snapshot s;
  Table t = MakeTable("public", "t", {Col("n", "integer")});
  Constraint printed = Con("n_printed", "check", "CHECK ((n > 0)) NOT VALID");
  printed.validated = false;
  Constraint flagged = Con("n_flagged", "check", "CHECK ((n < 10))");
  flagged.validated = false;
  t.constraints = {flagged, printed};
  s.tables.push_back(t);
  std::string sql = GenerateSql(s);
  At(sql, "ALTER TABLE public.t ADD CONSTRAINT n_printed CHECK ((n > 0)) NOT VALID;");
  At(sql, "ALTER TABLE public.t ADD CONSTRAINT n_flagged CHECK ((n < 10)) NOT VALID;");
}

Snapshot PartitionedSnapshot() {
  Snapshot s;
  // The partition sorts before its parent: the order must still be parent first.
  Table parent = MakeTable("public", "z_events", {Col("id", "bigint", true), Col("at", "date", true)});
  parent.kind = "partitioned table";
  parent.partition_key = "RANGE (at)";
  parent.columns[0].default_expr = "0";
  parent.constraints = {Con("z_events_pkey", "primary key", "PRIMARY KEY (id, at)"),
                        Con("z_events_at_check", "check", "CHECK ((at > '2000-01-01'::date))")};
  parent.indexes = {
      Idx("z_events_pkey", "CREATE UNIQUE INDEX z_events_pkey ON ONLY public.z_events USING btree (id, at)",
          "z_events_pkey"),
      Idx("z_events_at_idx", "CREATE INDEX z_events_at_idx ON ONLY public.z_events USING btree (at)")};
  parent.triggers = {{.name = "audit",
                      .definition = "CREATE TRIGGER audit AFTER INSERT ON public.z_events FOR EACH ROW EXECUTE "
                                    "FUNCTION public.audit()",
                      .enabled = "origin"}};
  Table part = MakeTable("public", "a_events_2024", parent.columns);
  part.partition_of = "public.z_events";
  part.partition_bound = "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')";
  Constraint pk = Con("a_events_2024_pkey", "primary key", "PRIMARY KEY (id, at)");
  pk.inherited = true;
  Constraint check = Con("z_events_at_check", "check", "CHECK ((at > '2000-01-01'::date))");
  check.inherited = true;
  Constraint local = Con("a_events_2024_id_check", "check", "CHECK ((id > 0))");
  part.constraints = {local, pk, check};
  Index pk_index =
      Idx("a_events_2024_pkey", "CREATE UNIQUE INDEX a_events_2024_pkey ON public.a_events_2024 USING btree (id, at)",
          "a_events_2024_pkey");
  pk_index.inherited = true;
  Index at_index =
      Idx("a_events_2024_at_idx", "CREATE INDEX a_events_2024_at_idx ON public.a_events_2024 USING btree (at)");
  at_index.inherited = true;
  Index own = Idx("a_events_2024_id_idx", "CREATE INDEX a_events_2024_id_idx ON public.a_events_2024 USING btree (id)");
  part.indexes = {at_index, own, pk_index};
  part.triggers = {{.name = "audit",
                    .definition = "CREATE TRIGGER audit AFTER INSERT ON public.a_events_2024 FOR EACH ROW EXECUTE "
                                  "FUNCTION public.audit()",
                    .enabled = "origin",
                    .inherited = true}};
  s.tables = {part, parent};
  return s;
}

TEST(SchemaDdl, PartitionsFollowTheirParentAndDeclareNoColumns) {
  std::string sql = GenerateSql(PartitionedSnapshot());
  size_t parent = At(sql,
                     "CREATE TABLE public.z_events (\n    id bigint DEFAULT 0 NOT NULL,\n    at date NOT NULL\n"
                     ") PARTITION BY RANGE (at);");
  size_t part = At(sql,
                   "CREATE TABLE public.a_events_2024 PARTITION OF public.z_events FOR VALUES FROM "
                   "('2024-01-01') TO ('2025-01-01');\n");
  EXPECT_LT(parent, part);
  // Same defaults and NOT NULL as the parent: nothing to alter.
  EXPECT_FALSE(Has(sql, "ALTER TABLE ONLY public.a_events_2024 ALTER COLUMN")) << sql;
}

TEST(SchemaDdl, InheritedChecksAndTriggersAreLeftToThePartitionedParent) {
  std::string sql = GenerateSql(PartitionedSnapshot());
  At(sql, "ALTER TABLE public.z_events ADD CONSTRAINT z_events_at_check CHECK ((at > '2000-01-01'::date));");
  EXPECT_FALSE(Has(sql, "ALTER TABLE public.a_events_2024 ADD CONSTRAINT z_events_at_check")) << sql;
  At(sql, "ALTER TABLE public.a_events_2024 ADD CONSTRAINT a_events_2024_id_check CHECK ((id > 0));");
  At(sql, "CREATE TRIGGER audit AFTER INSERT ON public.z_events FOR EACH ROW");
  EXPECT_FALSE(Has(sql, "CREATE TRIGGER audit AFTER INSERT ON public.a_events_2024")) << sql;
  EXPECT_FALSE(Has(sql, "TRIGGER audit;")) << "all enabled: no state to set";
}

TEST(SchemaDdl, PartitionedForeignKeysRecurseAndClonesKeepTheirState) {
  Snapshot s = PartitionedSnapshot();
  Constraint fk = Con("z_events_id_fkey", "foreign key", "FOREIGN KEY (id) REFERENCES public.ids(id)");
  s.tables[1].constraints.push_back(fk);
  fk.inherited = true;
  s.tables[0].constraints.push_back(fk);
  s.tables[0].triggers[0].enabled = "disabled";
  std::string sql = GenerateSql(s);
  // ONLY is refused on a partitioned table; the partition gets its copy by recursion.
  At(sql, "ALTER TABLE public.z_events ADD CONSTRAINT z_events_id_fkey FOREIGN KEY (id) REFERENCES public.ids(id);");
  EXPECT_FALSE(Has(sql, "public.a_events_2024 ADD CONSTRAINT z_events_id_fkey")) << sql;
  At(sql, "ALTER TABLE ONLY public.a_events_2024 DISABLE TRIGGER audit;");
}

TEST(SchemaDdl, PartitionIndexesAreCreatedBeforeTheParentsSoTheyKeepTheirNames) {
  std::string sql = GenerateSql(PartitionedSnapshot());
  size_t part_pk =
      At(sql, "ALTER TABLE ONLY public.a_events_2024 ADD CONSTRAINT a_events_2024_pkey PRIMARY KEY (id, at);");
  size_t part_idx = At(sql, "CREATE INDEX a_events_2024_at_idx ON public.a_events_2024 USING btree (at);");
  // The parent's without ONLY: PostgreSQL attaches the partitions' matching ones.
  size_t parent_pk = At(sql, "ALTER TABLE public.z_events ADD CONSTRAINT z_events_pkey PRIMARY KEY (id, at);");
  size_t parent_idx = At(sql, "CREATE INDEX z_events_at_idx ON public.z_events USING btree (at);");
  // A partition's own index comes after the parents', so no parent adopts it.
  size_t own = At(sql, "CREATE INDEX a_events_2024_id_idx ON public.a_events_2024 USING btree (id);");
  EXPECT_LT(part_pk, parent_pk);
  EXPECT_LT(part_idx, parent_idx);
  EXPECT_LT(parent_idx, own);
  EXPECT_FALSE(Has(sql, " ON ONLY ")) << sql;
}

TEST(SchemaDdl, PartitionDifferencesFromTheParentAreApplied) {
  Snapshot s = PartitionedSnapshot();
  s.tables[0].columns[0].default_expr = "42";
  s.tables[1].columns[1].not_null = false;
  s.tables[0].columns[1].not_null = true;
  std::string sql = GenerateSql(s);
  At(sql, "ALTER TABLE ONLY public.a_events_2024 ALTER COLUMN id SET DEFAULT 42;");
  At(sql, "ALTER TABLE ONLY public.a_events_2024 ALTER COLUMN at SET NOT NULL;");
}

TEST(SchemaDdl, APartitionWithItsOwnColumnOrderIsAttached) {
  Snapshot s = PartitionedSnapshot();
  std::swap(s.tables[0].columns[0], s.tables[0].columns[1]);
  std::string sql = GenerateSql(s);
  size_t create =
      At(sql, "CREATE TABLE public.a_events_2024 (\n    at date NOT NULL,\n    id bigint DEFAULT 0 NOT NULL\n);");
  size_t attach = At(sql,
                     "ALTER TABLE public.z_events ATTACH PARTITION public.a_events_2024 FOR VALUES FROM "
                     "('2024-01-01') TO ('2025-01-01');");
  EXPECT_LT(create, attach);
}

TEST(SchemaDdl, MultiLevelPartitionsCreateKeysFromTheLeavesUp) {
  Snapshot s = PartitionedSnapshot();
  Table& mid = s.tables[0];
  mid.kind = "partitioned table";
  mid.partition_key = "LIST (id)";
  mid.indexes[0].definition = "CREATE INDEX a_events_2024_at_idx ON ONLY public.a_events_2024 USING btree (at)";
  Table leaf = MakeTable("public", "b_leaf", mid.columns);
  leaf.partition_of = "public.a_events_2024";
  leaf.partition_bound = "DEFAULT";
  Index leaf_idx = Idx("b_leaf_at_idx", "CREATE INDEX b_leaf_at_idx ON public.b_leaf USING btree (at)");
  leaf_idx.inherited = true;
  leaf.indexes = {leaf_idx};
  s.tables.push_back(leaf);
  std::string sql = GenerateSql(s);
  size_t created = At(sql, "CREATE TABLE public.b_leaf PARTITION OF public.a_events_2024 DEFAULT;");
  EXPECT_LT(At(sql,
               "PARTITION OF public.z_events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY "
               "LIST (id);"),
            created);
  size_t leaf_at = At(sql, "CREATE INDEX b_leaf_at_idx ON public.b_leaf USING btree (at);");
  size_t mid_at = At(sql, "CREATE INDEX a_events_2024_at_idx ON public.a_events_2024 USING btree (at);");
  size_t root_at = At(sql, "CREATE INDEX z_events_at_idx ON public.z_events USING btree (at);");
  EXPECT_LT(leaf_at, mid_at);
  EXPECT_LT(mid_at, root_at);
  // The middle level is partitioned: no ONLY on its keys either.
  At(sql, "ALTER TABLE public.a_events_2024 ADD CONSTRAINT a_events_2024_pkey PRIMARY KEY (id, at);");
}

TEST(SchemaDdl, InheritanceChildrenDeclareOnlyTheirOwnColumns) {
  Snapshot s;
  Table parent = MakeTable("public", "b_parent", {Col("id", "integer", true), Col("note", "text")});
  parent.columns[1].default_expr = "'n/a'::text";
  parent.constraints = {Con("b_parent_id_check", "check", "CHECK ((id > 0))")};
  Table child =
      MakeTable("public", "a_child", {Col("id", "integer", true), Col("note", "text"), Col("extra", "jsonb")});
  child.inherits = {"public.b_parent"};
  Constraint inherited = parent.constraints[0];
  inherited.inherited = true;
  child.constraints = {inherited};
  s.tables = {child, parent};
  std::string sql = GenerateSql(s);
  size_t p = At(sql, "CREATE TABLE public.b_parent (");
  size_t c = At(sql, "CREATE TABLE public.a_child (\n    extra jsonb\n) INHERITS (public.b_parent);");
  EXPECT_LT(p, c);
  // The child has no default on note: the inherited one is dropped.
  At(sql, "ALTER TABLE ONLY public.a_child ALTER COLUMN note DROP DEFAULT;");
  EXPECT_FALSE(Has(sql, "ALTER TABLE public.a_child ADD CONSTRAINT")) << sql;
  At(sql, "ALTER TABLE public.b_parent ADD CONSTRAINT b_parent_id_check CHECK ((id > 0));");
}

TEST(SchemaDdl, AChildWithItsOwnColumnOrderInheritsAfterCreation) {
  Snapshot s;
  Table parent = MakeTable("public", "parent", {Col("id", "integer", true)});
  Table child = MakeTable("public", "child", {Col("extra", "text"), Col("id", "integer", true)});
  child.inherits = {"public.parent"};
  s.tables = {child, parent};
  std::string sql = GenerateSql(s);
  size_t create = At(sql, "CREATE TABLE public.child (\n    extra text,\n    id integer NOT NULL\n);");
  EXPECT_LT(create, At(sql, "ALTER TABLE ONLY public.child INHERIT public.parent;"));
  EXPECT_FALSE(Has(sql, "INHERITS")) << sql;
}

TEST(SchemaDdl, FunctionsBeforeTablesAndAtomicBodiesAfter) {
  Snapshot s;
  s.tables.push_back(MakeTable("public", "t", {Col("id", "integer", true)}));
  s.tables[0].columns[0].default_expr = "public.next_id()";
  s.functions = {Func("public", "count_t", "",
                      "CREATE OR REPLACE FUNCTION public.count_t()\n RETURNS bigint\n LANGUAGE sql\n"
                      "BEGIN ATOMIC\n SELECT count(*) AS count\n    FROM public.t;\nEND\n"),
                 Func("public", "double", "x integer",
                      "CREATE OR REPLACE FUNCTION public.double(x integer)\n RETURNS integer\n"
                      " LANGUAGE sql\n IMMUTABLE\nBEGIN ATOMIC\n SELECT (x * 2);\nEND\n"),
                 Func("public", "next_id", "",
                      "CREATE OR REPLACE FUNCTION public.next_id()\n RETURNS integer\n LANGUAGE sql\n"
                      "AS $function$select max(id) + 1 from public.t$function$\n"),
                 Func("public", "rows_of", "",
                      "CREATE OR REPLACE FUNCTION public.rows_of()\n RETURNS SETOF public.t\n"
                      " LANGUAGE sql\nAS $function$select * from public.t$function$\n")};
  s.functions[3].result = "SETOF public.t";
  std::string sql = GenerateSql(s);
  size_t table = At(sql, "CREATE TABLE public.t (\n    id integer DEFAULT public.next_id() NOT NULL\n);");
  // Plain bodies are not checked at creation; an atomic one that reads no table neither.
  EXPECT_LT(At(sql, "CREATE OR REPLACE FUNCTION public.next_id()"), table);
  EXPECT_LT(At(sql, "CREATE OR REPLACE FUNCTION public.double(x integer)"), table);
  EXPECT_TRUE(Has(sql, "BEGIN ATOMIC\n SELECT (x * 2);\nEND;\n")) << sql;
  // Reading a table, or returning its row type, needs the table.
  EXPECT_GT(At(sql, "CREATE OR REPLACE FUNCTION public.count_t()"), table);
  EXPECT_GT(At(sql, "CREATE OR REPLACE FUNCTION public.rows_of()"), table);
}

TEST(SchemaDdl, ADefaultCallingALateFunctionIsSetAfterIt) {
  Snapshot s;
  s.tables.push_back(MakeTable("public", "t", {Col("n", "bigint")}));
  s.tables[0].columns[0].default_expr = "public.count_t()";
  s.functions = {Func("public", "count_t", "",
                      "CREATE OR REPLACE FUNCTION public.count_t()\n RETURNS bigint\n"
                      " LANGUAGE sql\nBEGIN ATOMIC\n SELECT count(*) FROM public.t;\nEND\n")};
  std::string sql = GenerateSql(s);
  At(sql, "CREATE TABLE public.t (\n    n bigint\n);");
  EXPECT_LT(At(sql, "CREATE OR REPLACE FUNCTION public.count_t()"),
            At(sql, "ALTER TABLE ONLY public.t ALTER COLUMN n SET DEFAULT public.count_t();"));
}

TEST(SchemaDdl, ViewsFollowTheViewsTheyRead) {
  Snapshot s;
  s.tables.push_back(MakeTable("public", "t", {Col("id", "integer")}));
  View reader = MakeView("a_reader", " SELECT b_base.id\n   FROM public.b_base;", {"public.b_base"});
  reader.options = {"security_barrier=true"};
  View base = MakeView("b_base", " SELECT t.id\n   FROM public.t;\n", {"public.t"});
  View mat = MakeView("c_mat", " SELECT a_reader.id\n   FROM public.a_reader;", {"public.a_reader"});
  mat.materialized = true;
  mat.with_data = false;
  mat.indexes = {Idx("c_mat_id", "CREATE INDEX c_mat_id ON public.c_mat USING btree (id)")};
  s.views = {reader, base, mat};
  std::string sql = GenerateSql(s);
  size_t b = At(sql, "CREATE VIEW public.b_base AS\nSELECT t.id\n   FROM public.t;\n");
  size_t a = At(sql,
                "CREATE VIEW public.a_reader WITH (security_barrier=true) AS\nSELECT b_base.id\n"
                "   FROM public.b_base;\n");
  size_t m = At(sql,
                "CREATE MATERIALIZED VIEW public.c_mat AS\nSELECT a_reader.id\n   FROM public.a_reader\n"
                "WITH NO DATA;\n");
  size_t index = At(sql, "CREATE INDEX c_mat_id ON public.c_mat USING btree (id);");
  EXPECT_LT(At(sql, "CREATE TABLE public.t"), b);
  EXPECT_LT(b, a);
  EXPECT_LT(a, m);
  EXPECT_LT(m, index);
}

TEST(SchemaDdl, ViewCyclesDoNotLoseViews) {
  Snapshot s;
  s.views = {MakeView("a", "SELECT 1 AS x", {"public.b"}), MakeView("b", "SELECT 2 AS x", {"public.a"})};
  std::string sql = GenerateSql(s);
  At(sql, "CREATE VIEW public.a AS\nSELECT 1 AS x;");
  At(sql, "CREATE VIEW public.b AS\nSELECT 2 AS x;");
}

TEST(SchemaDdl, FunctionsReadingViewsComeWithTheViews) {
  Snapshot s;
  s.tables.push_back(MakeTable("public", "t", {Col("id", "integer")}));
  s.views = {MakeView("v", " SELECT t.id FROM public.t", {"public.t"}),
             MakeView("w", " SELECT public.from_v() AS n", {})};
  s.functions = {Func("public", "from_v", "",
                      "CREATE OR REPLACE FUNCTION public.from_v()\n RETURNS bigint\n"
                      " LANGUAGE sql\nBEGIN ATOMIC\n SELECT count(*) FROM public.v;\nEND\n")};
  std::string sql = GenerateSql(s);
  size_t v = At(sql, "CREATE VIEW public.v AS");
  size_t f = At(sql, "CREATE OR REPLACE FUNCTION public.from_v()");
  size_t w = At(sql, "CREATE VIEW public.w AS");
  EXPECT_LT(v, f);
  EXPECT_LT(f, w);
}

TEST(SchemaDdl, AggregatesAreNotedNotCreated) {
  Snapshot s;
  Function agg = Func("public", "my_sum", "integer", "");
  agg.kind = "aggregate";
  agg.comment = "sums";
  agg.grants = {{.grantee = "app", .privilege = "EXECUTE"}};
  s.functions = {agg};
  std::string sql = GenerateSql(s);
  At(sql, "-- aggregate public.my_sum(integer) is not recreated (not covered by the model)\n");
  EXPECT_FALSE(Has(sql, "my_sum(integer) IS")) << sql;
  EXPECT_FALSE(Has(sql, "GRANT EXECUTE")) << sql;
}

TEST(SchemaDdl, TriggerStatesAndPolicies) {
  Snapshot s;
  Table t = MakeTable("public", "t", {Col("owner", "text")});
  t.triggers = {{.name = "off",
                 .definition = "CREATE TRIGGER off BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE "
                               "FUNCTION public.f()",
                 .enabled = "disabled"},
                {.name = "Rep",
                 .definition = "CREATE TRIGGER \"Rep\" AFTER INSERT ON public.t FOR EACH ROW EXECUTE "
                               "FUNCTION public.f()",
                 .enabled = "replica"}};
  t.rls_enabled = true;
  t.rls_forced = true;
  t.policies = {{.name = "mine",
                 .command = "SELECT",
                 .permissive = false,
                 .roles = {"PUBLIC", "App User"},
                 .using_expr = "(owner = CURRENT_USER)",
                 .check_expr = "owner IS NOT NULL"}};
  s.tables.push_back(t);
  std::string sql = GenerateSql(s);
  size_t created = At(sql, "CREATE TRIGGER off BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE FUNCTION public.f();");
  EXPECT_LT(created, At(sql, "ALTER TABLE public.t DISABLE TRIGGER off;"));
  At(sql, "ALTER TABLE public.t ENABLE REPLICA TRIGGER \"Rep\";");
  At(sql, "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\nALTER TABLE public.t FORCE ROW LEVEL SECURITY;\n");
  At(sql,
     "CREATE POLICY mine ON public.t AS RESTRICTIVE FOR SELECT TO PUBLIC, \"App User\" USING (owner = "
     "CURRENT_USER) WITH CHECK (owner IS NOT NULL);");
}

TEST(SchemaDdl, CommentsAreEscapedAndOptional) {
  Snapshot s;
  s.schemas = {{.name = "public"}, {.name = "app", .comment = "it's the app"}};
  Table t = MakeTable("app", "t", {Col("id", "integer")});
  t.comment = "back\\slash";
  t.indexes = {Idx("t_id", "CREATE INDEX t_id ON app.t USING btree (id)")};
  t.indexes[0].comment = "lookup";
  s.tables.push_back(t);
  Function proc = Func("app", "run", "n integer",
                       "CREATE OR REPLACE PROCEDURE app.run(IN n integer)\n LANGUAGE sql\n"
                       "AS $procedure$select 1$procedure$\n");
  proc.kind = "procedure";
  proc.comment = "runs";
  s.functions = {proc};
  s.enums = {{.schema = "app", .name = "e", .labels = {"x"}, .comment = "an enum"}};
  std::string sql = GenerateSql(s);
  At(sql, "COMMENT ON SCHEMA app IS 'it''s the app';");
  At(sql, "COMMENT ON SCHEMA public IS NULL;");
  At(sql, "COMMENT ON TABLE app.t IS E'back\\\\slash';");
  At(sql, "COMMENT ON INDEX app.t_id IS 'lookup';");
  At(sql, "COMMENT ON PROCEDURE app.run(n integer) IS 'runs';");
  At(sql, "COMMENT ON TYPE app.e IS 'an enum';");
  EXPECT_FALSE(Has(GenerateSql(s, {.comments = false}), "COMMENT ON"));
}

TEST(SchemaDdl, GrantsAndTheRevokeFromPublicRule) {
  Snapshot s;
  s.schemas = {{.name = "app", .grants = {{.grantee = "reader", .privilege = "USAGE"}}},
               {.name = "public", .grants = {{.grantee = "pg_database_owner", .privilege = "CREATE"}}}};
  Table t = MakeTable("app", "t", {Col("id", "integer"), Col("secret", "text")});
  t.grants = {{.grantee = "PUBLIC", .privilege = "SELECT"},
              {.grantee = "writer", .privilege = "INSERT", .grantable = true}};
  t.columns[1].grants = {{.grantee = "auditor", .privilege = "SELECT"}};
  s.tables.push_back(t);
  s.sequences = {
      {.schema = "app", .name = "s", .max_value = 100, .grants = {{.grantee = "writer", .privilege = "USAGE"}}}};
  Function open =
      Func("app", "open_f", "", "CREATE OR REPLACE FUNCTION app.open_f() RETURNS integer LANGUAGE sql AS 'select 1'");
  open.grants = {{.grantee = "PUBLIC", .privilege = "EXECUTE"}, {.grantee = "app", .privilege = "EXECUTE"}};
  Function closed = Func("app", "closed_f", "a integer", "CREATE OR REPLACE FUNCTION app.closed_f(a integer) ...");
  closed.grants = {{.grantee = "app", .privilege = "EXECUTE"}};
  Function untouched = Func("app", "plain_f", "", "CREATE OR REPLACE FUNCTION app.plain_f() ...");
  s.functions = {closed, open, untouched};
  std::string sql = GenerateSql(s);
  At(sql, "GRANT USAGE ON SCHEMA app TO reader;");
  At(sql, "REVOKE ALL ON SCHEMA public FROM PUBLIC;\nGRANT CREATE ON SCHEMA public TO pg_database_owner;\n");
  At(sql, "GRANT SELECT ON TABLE app.t TO PUBLIC;");
  At(sql, "GRANT INSERT ON TABLE app.t TO writer WITH GRANT OPTION;");
  At(sql, "GRANT SELECT (secret) ON TABLE app.t TO auditor;");
  At(sql, "GRANT USAGE ON SEQUENCE app.s TO writer;");
  EXPECT_LT(At(sql, "REVOKE ALL ON FUNCTION app.closed_f(a integer) FROM PUBLIC;"),
            At(sql, "GRANT EXECUTE ON FUNCTION app.closed_f(a integer) TO app;"));
  EXPECT_FALSE(Has(sql, "REVOKE ALL ON FUNCTION app.open_f()")) << sql;
  EXPECT_FALSE(Has(sql, "ON FUNCTION app.plain_f()")) << sql;
  EXPECT_FALSE(Has(GenerateSql(s, {.grants = false}), "GRANT"));
}

namespace internal = ddl_internal;

TEST(SchemaDdl, TokensFindQualifiedNamesOutsideLiterals) {
  std::vector<std::string> texts;
  std::vector<bool> calls;
  for (const auto& t : internal::Tokens("SELECT \"Odd\".\"we\"\"ird\"(1e5, 'public.x', $1) FROM app.t -- public.c\n"
                                        "WHERE $q$public.y$q$ = x.y")) {
    texts.push_back(t.text);
    calls.push_back(t.call);
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"SELECT", "\"Odd\".\"we\"\"ird\"", "FROM", "app.t", "WHERE", "x.y"}));
  EXPECT_EQ(calls, (std::vector<bool>{false, true, false, false, false, false}));
}

TEST(SchemaDdl, TextHelpers) {
  EXPECT_EQ(internal::Parenthesized("a > 0"), "(a > 0)");
  EXPECT_EQ(internal::Parenthesized("(a > 0)"), "(a > 0)");
  EXPECT_EQ(internal::Parenthesized("(a) > (b)"), "((a) > (b))");
  EXPECT_EQ(internal::Parenthesized("(')')"), "(')')");
  EXPECT_EQ(internal::StripStatement("  SELECT 1;\n; \n"), "SELECT 1");
  EXPECT_EQ(internal::WithClause({}), "");
  EXPECT_EQ(internal::WithClause({"fillfactor=70", "check_option=local", "odd=a b"}),
            " WITH (fillfactor=70, check_option=local, odd='a b')");
  EXPECT_EQ(internal::Grantee("PUBLIC"), "PUBLIC");
  EXPECT_EQ(internal::Grantee("Mixed"), "\"Mixed\"");
}

TEST(SchemaDdl, TopoSortKeepsIndexOrderAndBreaksCycles) {
  EXPECT_EQ(internal::TopoSort({{}, {}, {}}), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(internal::TopoSort({{2}, {}, {}}), (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(internal::TopoSort({{1}, {0}, {}}), (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(internal::TopoSort({{0, 7}}), (std::vector<int>{0}));
}

}  // namespace
}  // namespace pgk::schema
