#include "migrate/files.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "common/fs.h"
#include "common/hash.h"

namespace pgk::migrate {

namespace {

struct Part {
  std::string version_text;
  uint64_t version = 0;
  std::string title;
  std::string path;
  std::string sql;
};

bool ParseVersion(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Splits a dbmate file into its up and down sections.
void SplitDbmate(const std::string& sql, std::string* up, std::string* down) {
  static const std::regex marker(R"((^|\n)--\s*migrate:(up|down)[^\n]*)");
  std::smatch m;
  std::string* target = nullptr;
  size_t pos = 0;
  auto begin = sql.cbegin();
  while (std::regex_search(begin + static_cast<long>(pos), sql.cend(), m, marker)) {
    size_t start = pos + static_cast<size_t>(m.position(0));
    if (target) *target += sql.substr(pos, start - pos);
    target = m[2] == "up" ? up : down;
    pos = start + static_cast<size_t>(m.length(0));
  }
  if (target) *target += sql.substr(pos);
}

}  // namespace

const char* LayoutName(Layout l) {
  switch (l) {
    case Layout::kGolangMigrate:
      return "golang-migrate";
    case Layout::kUpOnly:
      return "up-only";
    case Layout::kDbmate:
      return "dbmate";
    case Layout::kFlyway:
      return "flyway";
  }
  return "?";
}

std::string MigrationFile::up_file_name() const { return std::filesystem::path(up_path).filename().string(); }

bool HasNoTransactionDirective(const std::string& sql) {
  static const std::regex directive(R"(^\s*--\s*pgkeeper:no-transaction\s*(\n|$))");
  return std::regex_search(sql, directive, std::regex_constants::match_continuous);
}

const MigrationFile* MigrationSet::Find(uint64_t version) const {
  auto it = std::lower_bound(files.begin(), files.end(), version,
                             [](const MigrationFile& f, uint64_t v) { return f.version < v; });
  return it != files.end() && it->version == version ? &*it : nullptr;
}

int MigrationSet::PaddingWidth() const {
  int width = 0;
  for (const auto& f : files) {
    if (f.version_text.size() > 1 && f.version_text[0] == '0')
      width = std::max(width, static_cast<int>(f.version_text.size()));
  }
  return width;
}

Result<MigrationSet> LoadMigrations(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::NotFound(
        "migrations directory not found: " + dir,
        "pass --dir, set migrations.dir in pgkeeper.toml, or create it with `pgkeeper migrate create`");
  }
  static const std::regex up_re(R"(^(\d+)_(.+)\.up\.sql$)");
  static const std::regex down_re(R"(^(\d+)_(.+)\.down\.sql$)");
  static const std::regex plain_re(R"(^(\d+)_(.+)\.sql$)");
  static const std::regex flyway_re(R"(^V(\d+)__(.+)\.sql$)");
  static const std::regex flyway_undo_re(R"(^U(\d+)__(.+)\.sql$)");

  std::vector<std::string> problems;
  std::map<uint64_t, MigrationFile> by_version;
  std::map<uint64_t, Part> downs;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (entry.is_directory()) continue;
    if (entry.path().extension() != ".sql") continue;  // READMEs and the like
    names.push_back(name);
  }
  if (ec) return Status::IO("cannot list " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());

  for (const auto& name : names) {
    std::string path = (std::filesystem::path(dir) / name).string();
    std::smatch m;
    Layout layout;
    bool is_down = false;
    if (std::regex_match(name, m, down_re)) {
      layout = Layout::kGolangMigrate;
      is_down = true;
    } else if (std::regex_match(name, m, up_re)) {
      layout = Layout::kGolangMigrate;
    } else if (std::regex_match(name, m, flyway_undo_re)) {
      layout = Layout::kFlyway;
      is_down = true;
    } else if (std::regex_match(name, m, flyway_re)) {
      layout = Layout::kFlyway;
    } else if (std::regex_match(name, m, plain_re)) {
      layout = Layout::kUpOnly;
    } else {
      problems.push_back(name +
                         ": not a migration file name (expected {version}_{title}.up.sql, "
                         "{version}_{title}.down.sql, {version}_{title}.sql or V{version}__{title}.sql)");
      continue;
    }
    Part part;
    part.version_text = m[1];
    part.title = m[2];
    part.path = path;
    if (!ParseVersion(part.version_text, &part.version)) {
      problems.push_back(name + ": version " + part.version_text + " is not an unsigned 64-bit integer");
      continue;
    }
    auto text = fs::ReadFile(path);
    if (!text.ok()) {
      problems.push_back(name + ": cannot read: " + text.status().message());
      continue;
    }
    part.sql = *text;
    if (is_down) {
      if (downs.count(part.version)) {
        problems.push_back(name + ": duplicate down migration for version " + part.version_text + " (also " +
                           std::filesystem::path(downs[part.version].path).filename().string() + ")");
        continue;
      }
      downs[part.version] = std::move(part);
      continue;
    }
    if (by_version.count(part.version)) {
      problems.push_back(name + ": duplicate version " + part.version_text + " (also " +
                         by_version[part.version].up_file_name() + ")");
      continue;
    }
    MigrationFile f;
    f.version = part.version;
    f.version_text = part.version_text;
    f.title = part.title;
    f.layout = layout;
    f.up_path = path;
    f.checksum = "sha256:" + Sha256Hex(part.sql);
    f.flyway_checksum = FlywayChecksum(part.sql);
    if (layout == Layout::kUpOnly && part.sql.find("migrate:up") != std::string::npos &&
        std::regex_search(part.sql, std::regex(R"((^|\n)--\s*migrate:up)"))) {
      f.layout = Layout::kDbmate;
      SplitDbmate(part.sql, &f.up_sql, &f.down_sql);
      if (f.down_sql.find_first_not_of(" \t\r\n") != std::string::npos) f.down_path = path;
      // dbmate's own directive for statements that cannot run in a transaction.
      static const std::regex no_tx(R"(--\s*migrate:up[^\n]*transaction:false)");
      f.up_no_transaction = std::regex_search(part.sql, no_tx);
    } else {
      f.up_sql = part.sql;
      f.up_no_transaction = HasNoTransactionDirective(part.sql);
    }
    by_version[f.version] = std::move(f);
  }
  for (auto& [version, down] : downs) {
    auto it = by_version.find(version);
    std::string name = std::filesystem::path(down.path).filename().string();
    if (it == by_version.end()) {
      problems.push_back(name + ": down migration without its up migration (version " + down.version_text + ")");
      continue;
    }
    if (!it->second.down_path.empty()) {
      problems.push_back(name + ": version " + down.version_text + " already has a down section");
      continue;
    }
    it->second.down_path = down.path;
    it->second.down_sql = down.sql;
    it->second.down_no_transaction = HasNoTransactionDirective(down.sql);
  }
  if (!problems.empty()) {
    std::string msg = "invalid migrations in " + dir + ":";
    for (const auto& p : problems) msg += "\n  " + p;
    return Status::Malformed(msg, "fix or rename the files listed; nothing was applied");
  }
  MigrationSet set;
  set.dir = dir;
  for (auto& [v, f] : by_version) set.files.push_back(std::move(f));
  return set;
}

}  // namespace pgk::migrate
