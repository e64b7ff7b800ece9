#include "restore/post_data.h"

#include <map>

#include "migrate/sql_split.h"

namespace pgk::restore {

namespace {

using migrate::Token;

// `word` in upper case.
bool IsWord(const Token& t, const char* word) {
  if (t.kind != Token::Kind::kWord || t.text.size() != std::char_traits<char>::length(word)) return false;
  for (size_t i = 0; i < t.text.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != word[i]) return false;
  }
  return true;
}

std::string NamePart(const Token& t) {
  if (t.kind == Token::Kind::kQuotedIdentifier) return t.text;
  std::string out = t.text;
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// schema.name at tokens[i..]; false unless it is exactly a qualified name (pg_dump always
// qualifies in post-data).
bool QualifiedAt(const std::vector<Token>& t, size_t i, std::pair<std::string, std::string>* out) {
  if (i + 2 >= t.size()) return false;
  auto is_name = [](const Token& k) { return k.kind == Token::Kind::kWord || k.kind == Token::Kind::kQuotedIdentifier; };
  if (!is_name(t[i]) || t[i + 1].kind != Token::Kind::kSymbol || t[i + 1].text != "." || !is_name(t[i + 2])) {
    return false;
  }
  *out = {NamePart(t[i]), NamePart(t[i + 2])};
  return true;
}

// The table an index build works on, or false when the statement is not one.
bool BuildTarget(const std::vector<Token>& t, std::pair<std::string, std::string>* table) {
  if (t.size() < 6) return false;
  if (IsWord(t[0], "CREATE")) {
    size_t i = 1;
    if (IsWord(t[i], "UNIQUE")) ++i;
    if (!IsWord(t[i], "INDEX")) return false;
    // CREATE [UNIQUE] INDEX name ON [ONLY] schema.table ...; CONCURRENTLY never appears
    // in pg_dump output, and would not be safe in a multi-statement string anyway.
    for (++i; i < t.size() && !IsWord(t[i], "ON"); ++i) {
      if (IsWord(t[i], "CONCURRENTLY")) return false;
    }
    if (++i < t.size() && IsWord(t[i], "ONLY")) ++i;
    return QualifiedAt(t, i, table);
  }
  if (IsWord(t[0], "ALTER") && IsWord(t[1], "TABLE")) {
    size_t i = 2;
    if (IsWord(t[i], "ONLY")) ++i;
    if (!QualifiedAt(t, i, table)) return false;
    i += 3;
    if (i + 2 >= t.size() || !IsWord(t[i], "ADD") || !IsWord(t[i + 1], "CONSTRAINT")) return false;
    // ADD CONSTRAINT name PRIMARY KEY | UNIQUE | EXCLUDE; not FOREIGN KEY (needs the other
    // table's key) and not CHECK ... NOT VALID (cheap, and order-sensitive with its table).
    const Token& kind = t[i + 3 < t.size() ? i + 3 : i];
    return IsWord(kind, "PRIMARY") || IsWord(kind, "UNIQUE") || IsWord(kind, "EXCLUDE");
  }
  return false;
}

bool IsSetting(const std::vector<Token>& t) {
  if (t.empty()) return false;
  if (IsWord(t[0], "SET") || IsWord(t[0], "RESET")) return true;
  // SELECT pg_catalog.set_config('search_path', '', false);
  return t.size() >= 4 && IsWord(t[0], "SELECT") && IsWord(t[1], "PG_CATALOG") && IsWord(t[3], "SET_CONFIG");
}

}  // namespace

PostDataPlan PlanPostData(std::string_view sql) {
  PostDataPlan plan;
  std::string settings;
  std::map<std::pair<std::string, std::string>, size_t> index_of;
  for (const auto& st : migrate::SplitStatements(sql)) {
    auto tokens = migrate::Tokenize(st.text);
    std::pair<std::string, std::string> table;
    if (IsSetting(tokens)) {
      settings += st.text + ";\n";
      plan.rest += st.text + ";\n";
    } else if (BuildTarget(tokens, &table)) {
      auto [it, added] = index_of.try_emplace(table, plan.builds.size());
      if (added) plan.builds.push_back({table, {}});
      plan.builds[it->second].statements.push_back(settings + st.text + ";\n");
    } else {
      plan.rest += st.text + ";\n";
    }
  }
  return plan;
}

}  // namespace pgk::restore
