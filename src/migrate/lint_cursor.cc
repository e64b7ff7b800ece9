#include "migrate/lint_cursor.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "pg/quote.h"

namespace pgk::migrate::lint_internal {

using Kind = Token::Kind;

// Only ASCII letters: PostgreSQL leaves the bytes of multibyte characters alone.
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) { return a.size() == b.size() && Lower(a) == Lower(b); }

std::string CollapseSpace(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  return out;
}

std::string ShowIdent(const std::string& name) {
  bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    plain = plain && ((c >= 'a' && c <= 'z') || std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  return plain ? name : pg::QuoteIdent(name);
}

bool Cursor::IsWord(std::string_view word, size_t ahead) const {
  const Token* t = Peek(ahead);
  return t != nullptr && t->kind == Kind::kWord && EqualsIgnoreCase(t->text, word);
}

bool Cursor::IsAnyWord(std::initializer_list<std::string_view> words) const {
  return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return IsWord(w); });
}

bool Cursor::IsSymbol(char c) const {
  const Token* t = Peek();
  return t != nullptr && t->kind == Kind::kSymbol && t->text[0] == c;
}

bool Cursor::Accept(std::initializer_list<std::string_view> words) {
  size_t k = 0;
  for (std::string_view w : words) {
    if (!IsWord(w, k++)) return false;
  }
  pos_ += words.size();
  return true;
}

bool Cursor::AcceptSymbol(char c) {
  if (!IsSymbol(c)) return false;
  ++pos_;
  return true;
}

std::optional<std::string> Cursor::Ident() {
  const Token* t = Peek();
  if (t == nullptr || (t->kind != Kind::kWord && t->kind != Kind::kQuotedIdentifier)) return std::nullopt;
  ++pos_;
  return t->kind == Kind::kWord ? Lower(t->text) : t->text;
}

std::optional<RelName> Cursor::Relation() {
  auto first = Ident();
  if (!first) return std::nullopt;
  RelName r{"", *first};
  while (IsSymbol('.')) {
    ++pos_;
    auto next = Ident();
    if (!next) break;
    r.schema = std::move(r.name);
    r.name = std::move(*next);
  }
  return r;
}

void Cursor::SkipTerm() {
  if (AtEnd()) return;
  int depth = 0;
  do {
    if (IsSymbol('(')) ++depth;
    if (IsSymbol(')')) --depth;
    ++pos_;
  } while (depth > 0 && !AtEnd());
}

std::vector<std::string> Cursor::IdentList() {
  std::vector<std::string> out;
  if (!AcceptSymbol('(')) return out;
  while (!AtEnd() && !AcceptSymbol(')')) {
    if (auto id = Ident()) {
      out.push_back(*id);
    } else {
      SkipTerm();
    }
  }
  return out;
}

bool Cursor::Contains(std::string_view word) const {
  for (size_t i = pos_; i < end_; ++i) {
    if (t_[i].kind == Kind::kWord && EqualsIgnoreCase(t_[i].text, word)) return true;
  }
  return false;
}

}  // namespace pgk::migrate::lint_internal
