// Text helpers for DDL generation: statement collection, quoting, and a small scanner
// that finds the names an SQL text refers to (for dependency ordering).
#include <cctype>
#include <set>

#include "pg/quote.h"
#include "schema/ddl.h"

namespace pgk::schema::ddl_internal {

namespace {

bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }
bool IdentChar(char c) { return IdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$'; }
bool Space(char c) { return std::isspace(static_cast<unsigned char>(c)); }

// Index just past the quoted text starting at `i` (sql[i] is the quote); doubled quotes
// stay inside.
size_t SkipQuoted(std::string_view sql, size_t i, char quote) {
  for (++i; i < sql.size(); ++i) {
    if (sql[i] != quote) continue;
    if (i + 1 < sql.size() && sql[i + 1] == quote) {
      ++i;
      continue;
    }
    return i + 1;
  }
  return sql.size();
}

// Index just past a $tag$...$tag$ string starting at `i`, or `i` if there is none ($1
// is a parameter, not a quote).
size_t SkipDollarQuoted(std::string_view sql, size_t i) {
  size_t j = i + 1;
  if (j < sql.size() && IdentStart(sql[j]))
    while (j < sql.size() && IdentChar(sql[j]) && sql[j] != '$') ++j;
  if (j >= sql.size() || sql[j] != '$') return i;
  std::string_view tag = sql.substr(i, j + 1 - i);
  size_t end = sql.find(tag, j + 1);
  return end == std::string_view::npos ? sql.size() : end + tag.size();
}

}  // namespace

void Sql::Section(std::string title) { pending_title_ = std::move(title); }

void Sql::Flush() {
  if (pending_title_.empty()) return;
  if (!out_.empty()) out_ += "\n";
  out_ += "-- " + pending_title_ + "\n";
  pending_title_.clear();
}

void Sql::Statement(std::string_view text) {
  Flush();
  out_.append(text);
  out_ += ";\n";
}

void Sql::Note(std::string_view text) {
  Flush();
  out_ += "-- ";
  out_.append(text);
  out_ += "\n";
}

std::string Literal(std::string_view text) { return pg::QuoteLiteral(text); }

std::string Grantee(const std::string& role) { return role == "PUBLIC" ? role : QuoteIdentIfNeeded(role); }

std::string StripStatement(std::string_view sql) {
  size_t begin = 0;
  while (begin < sql.size() && Space(sql[begin])) ++begin;
  size_t end = sql.size();
  while (end > begin && (Space(sql[end - 1]) || sql[end - 1] == ';')) --end;
  return std::string(sql.substr(begin, end - begin));
}

std::string Parenthesized(const std::string& expr) {
  if (expr.size() >= 2 && expr.front() == '(' && expr.back() == ')') {
    // Wrapped as a whole only if the first parenthesis closes at the very end.
    int depth = 0;
    for (size_t i = 0; i < expr.size(); ++i) {
      char c = expr[i];
      if (c == '\'' || c == '"') {
        i = SkipQuoted(expr, i, c) - 1;
        continue;
      }
      if (c == '(') ++depth;
      if (c == ')' && --depth == 0) {
        if (i + 1 == expr.size()) return expr;
        break;
      }
    }
  }
  return "(" + expr + ")";
}

std::string WithClause(const std::vector<std::string>& options) {
  if (options.empty()) return "";
  std::string out = " WITH (";
  for (size_t i = 0; i < options.size(); ++i) {
    const std::string& option = options[i];
    size_t eq = option.find('=');
    if (i > 0) out += ", ";
    if (eq == std::string::npos) {
      out += option;
      continue;
    }
    std::string value = option.substr(eq + 1);
    bool plain = !value.empty();
    for (char c : value)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '+');
    out += option.substr(0, eq) + "=" + (plain ? value : Literal(value));
  }
  return out + ")";
}

std::string WithNotValid(const std::string& definition, bool validated) {
  static const std::string kNotValid = " NOT VALID";
  bool says_so = definition.size() >= kNotValid.size() &&
                 definition.compare(definition.size() - kNotValid.size(), kNotValid.size(), kNotValid) == 0;
  return validated || says_so ? definition : definition + kNotValid;
}

std::vector<Token> Tokens(std::string_view sql) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'') {
      i = SkipQuoted(sql, i, '\'');
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) i = sql.size();
    } else if (c == '$' && SkipDollarQuoted(sql, i) != i) {
      i = SkipDollarQuoted(sql, i);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < sql.size() && IdentChar(sql[i])) ++i;  // 42, 1e5: not names
    } else if (IdentStart(c) || c == '"') {
      Token token;
      while (true) {
        size_t end = sql[i] == '"' ? SkipQuoted(sql, i, '"') : i;
        while (end < sql.size() && sql[i] != '"' && IdentChar(sql[end])) ++end;
        token.text.append(sql.substr(i, end - i));
        i = end;
        if (i + 1 < sql.size() && sql[i] == '.' && (IdentStart(sql[i + 1]) || sql[i + 1] == '"')) {
          token.text += '.';
          ++i;
          continue;
        }
        break;
      }
      size_t next = i;
      while (next < sql.size() && Space(sql[next])) ++next;
      token.call = next < sql.size() && sql[next] == '(';
      out.push_back(std::move(token));
    } else {
      ++i;
    }
  }
  return out;
}

void Names::Add(const std::string& schema, const std::string& name, int id) {
  ids_["." + Qualified(schema, name)].push_back(id);
  if (schema == "public") ids_[QuoteIdentIfNeeded(name)].push_back(id);
}

std::vector<int> Names::Find(const std::string& ref, bool allow_bare) const {
  // Qualified spellings are stored with a leading "." so a bare name can never collide
  // with one.
  bool qualified = ref.find('.') != std::string::npos && ref.front() != '.';
  if (!qualified && !allow_bare) return {};
  auto it = ids_.find(qualified ? "." + ref : ref);
  return it == ids_.end() ? std::vector<int>{} : it->second;
}

std::vector<int> TopoSort(const std::vector<std::vector<int>>& deps) {
  const int n = static_cast<int>(deps.size());
  std::vector<std::set<int>> before(n);
  std::vector<std::vector<int>> after(n);
  for (int i = 0; i < n; ++i)
    for (int j : deps[i])
      if (j != i && j >= 0 && j < n && before[i].insert(j).second) after[j].push_back(i);
  std::vector<size_t> pending(n);
  std::set<int> ready;
  for (int i = 0; i < n; ++i)
    if ((pending[i] = before[i].size()) == 0) ready.insert(i);
  std::vector<bool> done(n, false);
  std::vector<int> order;
  int first_left = 0;
  while (static_cast<int>(order.size()) < n) {
    int next;
    if (!ready.empty()) {
      next = *ready.begin();
      ready.erase(ready.begin());
    } else {  // a cycle: break it at the first node left
      while (done[first_left]) ++first_left;
      next = first_left;
    }
    done[next] = true;
    order.push_back(next);
    for (int k : after[next])
      if (!done[k] && --pending[k] == 0) ready.insert(k);
  }
  return order;
}

}  // namespace pgk::schema::ddl_internal
