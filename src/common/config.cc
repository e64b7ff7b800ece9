#include "common/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "common/fs.h"

namespace pgk {

namespace {

enum class KeyType { String, Int, Bool, Array, Table, TableArray };
struct KeySpec {
  const char* key;
  KeyType type;
};
const KeySpec kKeys[] = {
#define PGK_CONFIG_KEY(key, type, doc) {key, KeyType::type},
#include "common/config_keys.def"
#undef PGK_CONFIG_KEY
};

const char* TypeName(KeyType t) {
  switch (t) {
    case KeyType::String:
      return "a string";
    case KeyType::Int:
      return "an integer";
    case KeyType::Bool:
      return "true or false";
    case KeyType::Array:
      return "an array of strings";
    case KeyType::Table:
      return "a table";
    case KeyType::TableArray:
      return "an array of tables ([[key]] sections)";
  }
  return "?";
}

std::vector<std::string> AllKeys() {
  std::vector<std::string> out;
  for (const auto& k : kKeys) out.emplace_back(k.key);
  return out;
}

const KeySpec* FindKey(const std::string& key) {
  for (const auto& k : kKeys)
    if (key == k.key) return &k;
  return nullptr;
}

bool IsSectionPrefix(const std::string& prefix) {
  for (const auto& k : kKeys)
    if (std::string(k.key).rfind(prefix + ".", 0) == 0) return true;
  return false;
}

std::string Where(const std::string& origin, const toml::source_region& src) {
  return origin + ":" + std::to_string(src.begin.line);
}

}  // namespace

struct ConfigAccess {
  static Status Walk(const toml::table& table, const std::string& spec_prefix, const std::string& prefix,
                     const std::string& origin, Config& out);
};

// `spec_prefix` is the key prefix in config_keys.def; `prefix` the one stored in `out`
// (they differ inside the elements of an array of tables, whose keys are stored bare).
Status ConfigAccess::Walk(const toml::table& table, const std::string& spec_prefix, const std::string& prefix,
                          const std::string& origin, Config& out) {
  auto& strings = out.strings_;
  auto& ints = out.ints_;
  auto& bools = out.bools_;
  for (const auto& [k, node] : table) {
    std::string key = spec_prefix.empty() ? std::string(k.str()) : spec_prefix + "." + std::string(k.str());
    std::string stored = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const KeySpec* spec = FindKey(key);
    if (!spec && node.is_table() && IsSectionPrefix(key)) {
      PGK_RETURN_IF_ERROR(Walk(*node.as_table(), key, stored, origin, out));
      continue;
    }
    if (!spec) {
      std::string hint = "see docs/configuration.md for the keys pgkeeper reads";
      if (auto m = ClosestMatch(key, AllKeys())) hint = "did you mean '" + *m + "'?";
      return Status::Config("unknown key '" + key + "' in " + Where(origin, node.source()), hint);
    }
    bool type_ok = false;
    switch (spec->type) {
      case KeyType::String:
        if (auto v = node.value<std::string>(); v && node.is_string()) {
          strings[stored] = *v;
          type_ok = true;
        }
        break;
      case KeyType::Int:
        if (node.is_integer()) {
          ints[stored] = *node.value<int64_t>();
          type_ok = true;
        }
        break;
      case KeyType::Bool:
        if (node.is_boolean()) {
          bools[stored] = *node.value<bool>();
          type_ok = true;
        }
        break;
      case KeyType::Array:
        if (const toml::array* a = node.as_array()) {
          std::vector<std::string> items;
          type_ok = true;
          for (const auto& item : *a) {
            if (!item.is_string()) {
              type_ok = false;
              break;
            }
            items.push_back(*item.value<std::string>());
          }
          if (type_ok) out.string_lists_[stored] = std::move(items);
        }
        break;
      case KeyType::Table:
        type_ok = node.is_table();
        break;
      case KeyType::TableArray:
        if (const toml::array* a = node.as_array(); a && a->is_array_of_tables()) {
          std::vector<Config> elements;
          for (const auto& item : *a) {
            Config element;
            element.origin_ = Where(origin, item.source());
            PGK_RETURN_IF_ERROR(Walk(*item.as_table(), key, "", origin, element));
            elements.push_back(std::move(element));
          }
          out.tables_[stored] = std::move(elements);
          type_ok = true;
        }
        break;
    }
    if (!type_ok) {
      return Status::Config("key '" + key + "' in " + Where(origin, node.source()) + " must be " + TypeName(spec->type));
    }
  }
  return Status::Ok();
}

Result<Config> Config::Parse(const std::string& text, const std::string& origin) {
  Config c;
  c.origin_ = origin;
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return Status::Config("cannot parse " + origin + ":" + std::to_string(e.source().begin.line) + ": " +
                              std::string(e.description()),
                          "fix the TOML syntax (https://toml.io)");
  }
  PGK_RETURN_IF_ERROR(ConfigAccess::Walk(root, "", "", origin, c));
  return c;
}

Result<Config> Config::Load(const std::string& path, bool required) {
  if (!required && !std::filesystem::exists(path)) return Config();
  auto text = fs::ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) {
      return Status::Config("config file not found: " + path, "pass an existing file with --config, or omit it");
    }
    return Status::Config(text.status().message());
  }
  return Parse(*text, path);
}

std::optional<std::string> Config::GetString(const std::string& key) const {
  auto it = strings_.find(key);
  if (it == strings_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> Config::GetInt(const std::string& key) const {
  auto it = ints_.find(key);
  if (it == ints_.end()) return std::nullopt;
  return it->second;
}

std::optional<bool> Config::GetBool(const std::string& key) const {
  auto it = bools_.find(key);
  if (it == bools_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::vector<std::string>> Config::GetStrings(const std::string& key) const {
  auto it = string_lists_.find(key);
  if (it == string_lists_.end()) return std::nullopt;
  return it->second;
}

std::vector<Config> Config::GetTables(const std::string& key) const {
  auto it = tables_.find(key);
  if (it == tables_.end()) return {};
  return it->second;
}

std::optional<std::string> ClosestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::optional<std::string> best;
  size_t best_d = 4;
  for (const auto& c : candidates) {
    size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace pgk
