#include "common/mask.h"

#include <regex>

namespace pgk {

namespace {

struct Rule {
  std::regex pattern;
  const char* replacement;
};

const std::vector<Rule>& Rules() {
  // Built once: std::regex construction is slow and these run on every log line.
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    auto icase = std::regex::ECMAScript | std::regex::icase;
    // URL userinfo: scheme://user:password@ . The password may contain anything but '@'
    // and whitespace; we stop at the last '@' before the host part.
    r.push_back({std::regex(R"(([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^\s@]*@)", icase), "$1***@"});
    // conninfo key=value, with or without quotes.
    r.push_back({std::regex(R"((\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+))", icase), "$1***"});
    // SQL: ALTER/CREATE ROLE ... PASSWORD 'x'
    r.push_back({std::regex(R"((\bpassword\s+)'(?:[^']|'')*')", icase), "$1'***'"});
    // Environment assignments.
    r.push_back({std::regex(R"((\b(?:PGPASSWORD|PGKEEPER_(?:NEW_)?ENCRYPTION_(?:KEY|PASSPHRASE)|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)=)\S+)"),
                 "$1***"});
    return r;
  }();
  return rules;
}

}  // namespace

std::string MaskSecrets(std::string_view text) {
  std::string out(text);
  // Cheap pre-check: most log lines contain none of the trigger substrings.
  if (out.find("://") == std::string::npos && out.find("assword") == std::string::npos &&
      out.find("ASSWORD") == std::string::npos && out.find("_KEY") == std::string::npos &&
      out.find("TOKEN") == std::string::npos &&
      out.find("PASSPHRASE") == std::string::npos) {
    return out;
  }
  for (const auto& rule : Rules()) out = std::regex_replace(out, rule.pattern, rule.replacement);
  return out;
}

}  // namespace pgk
