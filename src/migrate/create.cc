#include "migrate/create.h"

#include <filesystem>

#include "common/fs.h"

namespace pgk::migrate {

std::string SanitizeTitle(const std::string& title) {
  std::string out;
  for (char c : title) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

Result<std::vector<std::string>> CreateMigration(const std::string& dir, const std::string& title) {
  std::string clean = SanitizeTitle(title);
  if (clean.empty()) return Status::InvalidArgument("the title '" + title + "' has no letters or digits");
  MigrationSet set;
  set.dir = dir;
  if (std::filesystem::exists(dir)) {
    PGK_ASSIGN_OR_RETURN(set, LoadMigrations(dir));
  } else {
    PGK_RETURN_IF_ERROR(fs::MakeDirs(dir));
  }
  uint64_t next = set.files.empty() ? 1 : set.files.back().version + 1;
  int width = set.files.empty() ? 6 : set.PaddingWidth();
  std::string number = std::to_string(next);
  if (static_cast<int>(number.size()) < width)
    number = std::string(static_cast<size_t>(width) - number.size(), '0') + number;
  bool up_only = !set.files.empty();
  for (const auto& f : set.files) up_only = up_only && f.layout == Layout::kUpOnly;
  std::vector<std::pair<std::string, std::string>> files;
  std::string base = (std::filesystem::path(dir) / (number + "_" + clean)).string();
  if (up_only) {
    files.emplace_back(base + ".sql", "-- " + title + "\n");
  } else {
    files.emplace_back(base + ".up.sql", "-- " + title + "\n");
    files.emplace_back(base + ".down.sql", "-- reverts: " + title + "\n");
  }
  for (const auto& [path, text] : files) {
    if (std::filesystem::exists(path)) return Status::Refused(path + " already exists");
  }
  std::vector<std::string> written;
  for (const auto& [path, text] : files) {
    PGK_RETURN_IF_ERROR(fs::WriteFile(path, text, {.atomic = true, .sync = false}));
    written.push_back(path);
  }
  return written;
}

}  // namespace pgk::migrate
