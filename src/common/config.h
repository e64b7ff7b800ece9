// The TOML config file (`--config FILE`, default ./pgkeeper.toml when present). Parsed
// once, validated against config_keys.def, then read through typed getters. A malformed
// file or an unknown key is a Config error (exit 2) naming the file, line and key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk {

class Config {
 public:
  Config() = default;
  // Loads `path`. With `required` false a missing file yields an empty config.
  static Result<Config> Load(const std::string& path, bool required);
  static Result<Config> Parse(const std::string& text, const std::string& origin);

  std::optional<std::string> GetString(const std::string& key) const;
  std::optional<int64_t> GetInt(const std::string& key) const;
  std::optional<bool> GetBool(const std::string& key) const;
  // An Array key (strings only).
  std::optional<std::vector<std::string>> GetStrings(const std::string& key) const;
  // A TableArray key ([[serve.jobs]]): one Config per element, in file order, whose keys
  // are the element's own ("name", not "serve.jobs.name") and whose origin is "file:line".
  std::vector<Config> GetTables(const std::string& key) const;
  const std::string& origin() const { return origin_; }
  bool empty() const {
    return strings_.empty() && ints_.empty() && bools_.empty() && string_lists_.empty() && tables_.empty();
  }

 private:
  friend struct ConfigAccess;  // config.cc's parser fills the maps
  std::string origin_;
  std::map<std::string, std::vector<std::string>> string_lists_;
  std::map<std::string, std::vector<Config>> tables_;
  std::map<std::string, std::string> strings_;
  std::map<std::string, int64_t> ints_;
  std::map<std::string, bool> bools_;
};

// Levenshtein-closest candidate within distance 3, for "did you mean" hints.
std::optional<std::string> ClosestMatch(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace pgk
