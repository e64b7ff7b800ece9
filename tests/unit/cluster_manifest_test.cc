// Cluster backups: the manifest's database sections, the logical manifests derived from
// them, and the restore mapping (--only, --exclude, --prefix, --into).
#include <gtest/gtest.h>

#include "repo/manifest.h"
#include "restore/cluster.h"

namespace pgk::repo {

namespace {

ManifestFile File(const std::string& name, const std::string& kind, const std::string& table = "") {
  return {.name = name,
          .kind = kind,
          .table = table,
          .rows = table.empty() ? -1 : 7,
          .original_size = 10,
          .original_sha256 = "aa",
          .stored_size = 5,
          .stored_sha256 = "bb",
          .compression = "zstd",
          .cipher = "aes-256-gcm"};
}

Manifest Cluster() {
  Manifest m;
  m.id = BackupId(1795309323, "cluster");
  m.type = "cluster";
  m.server_version = "15.18";
  m.start_time = Iso8601(1795309323);
  m.stop_time = Iso8601(1795309330);
  m.pgkeeper_version = "0.1.0";
  m.compression = "zstd";
  m.cipher = "aes-256-gcm";
  m.wrapped_data_key = "d3JhcHBlZA==";
  m.files = {File("globals.sql", "globals"), File("db/1/schema/pre-data.sql", "schema-pre"),
             File("db/1/data/0001.copy", "table-data", "public.t"), File("db/2/schema/pre-data.sql", "schema-pre"),
             File("db/10/schema/pre-data.sql", "schema-pre")};
  m.databases = {{.name = "app",
                  .dir = "db/1",
                  .start_time = m.start_time,
                  .stop_time = m.stop_time,
                  .migration_version = 12,
                  .row_counts = {{"public.t", 7}}},
                 {.name = "postgres", .dir = "db/2", .start_time = m.start_time, .stop_time = m.stop_time},
                 {.name = "Odd Name", .dir = "db/10", .options = {"schema-only"}}};
  return m;
}

}  // namespace

TEST(ClusterManifest, RoundTripsWithDatabases) {
  Manifest m = Cluster();
  auto parsed = ParseManifest(SerializeManifest(m), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(BackupId(1795309323, "cluster").back(), 'C');
  EXPECT_EQ(BackupId(1795309323, "globals").back(), 'G');
}

TEST(ClusterManifest, DatabaseManifestIsALogicalBackupUnderTheClusterDirectory) {
  Manifest m = Cluster();
  Manifest app = DatabaseManifest(m, m.databases[0]);
  EXPECT_EQ(app.id, m.id + "/db/1");
  EXPECT_EQ(BackupDir(app.id), "backups/" + m.id + "/db/1/");
  EXPECT_EQ(app.type, "logical");
  EXPECT_EQ(app.database, "app");
  EXPECT_EQ(app.wrapped_data_key, m.wrapped_data_key);
  EXPECT_EQ(app.cipher, m.cipher);
  EXPECT_EQ(app.migration_version, 12u);
  ASSERT_EQ(app.files.size(), 2u);
  EXPECT_EQ(app.files[0].name, "schema/pre-data.sql");
  EXPECT_EQ(app.files[1].name, "data/0001.copy");
  EXPECT_EQ(app.row_counts.at("public.t"), 7);
  // db/1 must not take db/10's files.
  Manifest odd = DatabaseManifest(m, m.databases[2]);
  ASSERT_EQ(odd.files.size(), 1u);
  EXPECT_EQ(odd.options, std::vector<std::string>{"schema-only"});
}

TEST(ClusterManifest, RefusesDirectoriesOutsideTheBackup) {
  for (const std::string dir : {"../x", "db/../../x", "db/", "db/1/2", "/db/1", "data"}) {
    Manifest m = Cluster();
    m.databases[0].dir = dir;
    auto parsed = ParseManifest(SerializeManifest(m), "manifest.json");
    ASSERT_FALSE(parsed.ok()) << dir;
    EXPECT_EQ(parsed.status().code(), Code::kMalformed);
  }
  Manifest twice = Cluster();
  twice.databases[1].dir = "db/1";
  EXPECT_FALSE(ParseManifest(SerializeManifest(twice), "manifest.json").ok());
}

TEST(ClusterManifest, PlanDatabasesMapsAndRefuses) {
  Manifest m = Cluster();
  auto all = restore::PlanDatabases(m, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].into, "Odd Name");

  auto prefixed = restore::PlanDatabases(m, {.exclude = {"postgres"}, .prefix = "r_"});
  ASSERT_TRUE(prefixed.ok());
  ASSERT_EQ(prefixed->size(), 2u);
  EXPECT_EQ((*prefixed)[0].into, "r_app");
  EXPECT_EQ((*prefixed)[1].into, "r_Odd Name");

  auto renamed = restore::PlanDatabases(m, {.only = {"app"}, .into = "app_copy"});
  ASSERT_TRUE(renamed.ok());
  ASSERT_EQ(renamed->size(), 1u);
  EXPECT_EQ((*renamed)[0].database->name, "app");
  EXPECT_EQ((*renamed)[0].into, "app_copy");

  auto unknown = restore::PlanDatabases(m, {.only = {"nope"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().hint().find("app, postgres, Odd Name"), std::string::npos) << unknown.status().hint();
  EXPECT_FALSE(restore::PlanDatabases(m, {.into = "x"}).ok());  // three databases
  EXPECT_FALSE(restore::PlanDatabases(m, {.only = {"app"}, .prefix = "p", .into = "x"}).ok());
  EXPECT_FALSE(restore::PlanDatabases(m, {.exclude = {"app", "postgres", "Odd Name"}}).ok());
  EXPECT_FALSE(restore::PlanDatabases(m, {.prefix = std::string(60, 'p')}).ok());  // > 63 bytes
}

}  // namespace pgk::repo
