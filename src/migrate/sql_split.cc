#include "migrate/sql_split.h"

#include <cctype>

namespace pgk::migrate {
namespace {

// Everything below works on spans: the script cut into code and the lexical constructs
// inside which nothing is code. Splitting, normalizing and tokenizing then only need to look
// at code spans, so the quoting rules live in one place.
enum class SpanKind { kCode, kComment, kString, kQuotedIdentifier, kDollarQuote };

struct Span {
  SpanKind kind;
  size_t begin;
  size_t end;
};

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// Bytes >= 0x80 are identifier characters in PostgreSQL (multibyte UTF-8 names).
bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '$'; }

char ToLowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char ToUpperAscii(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Position just past the closing quote of a quoted construct whose body starts at `pos`.
// A doubled quote is an escaped quote; with `backslash`, so is \' (E'...' strings).
size_t EndOfQuoted(std::string_view s, size_t pos, char quote, bool backslash) {
  size_t i = pos;
  while (i < s.size()) {
    if (backslash && s[i] == '\\') {
      i += 2;
    } else if (s[i] == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return s.size();
}

// Block comments nest in PostgreSQL (unlike C), so /* a /* b */ c */ is one comment.
size_t EndOfBlockComment(std::string_view s, size_t pos) {
  int depth = 0;
  size_t i = pos;
  while (i < s.size()) {
    if (s.compare(i, 2, "/*") == 0) {
      ++depth;
      i += 2;
    } else if (s.compare(i, 2, "*/") == 0) {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return s.size();
}

// Length of the dollar-quote opening tag ($$ or $tag$) at `pos`, or 0 if there is none.
size_t DollarTagLength(std::string_view s, size_t pos) {
  // '$' continues identifiers, so "a$b$" is one identifier, and "$1" is a parameter.
  if (pos > 0 && IsIdentChar(s[pos - 1])) return 0;
  size_t i = pos + 1;
  if (i < s.size() && IsIdentStart(s[i])) {
    while (i < s.size() && IsIdentChar(s[i]) && s[i] != '$') ++i;
  }
  return i < s.size() && s[i] == '$' ? i - pos + 1 : 0;
}

std::vector<Span> ScanSpans(std::string_view s) {
  std::vector<Span> spans;
  size_t code_begin = 0;
  size_t i = 0;
  auto emit = [&](SpanKind kind, size_t end) {
    if (code_begin < i) spans.push_back({SpanKind::kCode, code_begin, i});
    spans.push_back({kind, i, end});
    i = code_begin = end;
  };
  while (i < s.size()) {
    char c = s[i];
    char next = i + 1 < s.size() ? s[i + 1] : '\0';
    bool word_start = i == 0 || !IsIdentChar(s[i - 1]);
    if (c == '-' && next == '-') {
      size_t nl = s.find('\n', i);
      emit(SpanKind::kComment, nl == std::string_view::npos ? s.size() : nl);
    } else if (c == '/' && next == '*') {
      emit(SpanKind::kComment, EndOfBlockComment(s, i));
    } else if (c == '\'') {
      emit(SpanKind::kString, EndOfQuoted(s, i + 1, '\'', false));
    } else if ((c == 'E' || c == 'e') && next == '\'' && word_start) {
      emit(SpanKind::kString, EndOfQuoted(s, i + 2, '\'', true));
    } else if (c == '"') {
      emit(SpanKind::kQuotedIdentifier, EndOfQuoted(s, i + 1, '"', false));
    } else if (size_t tag = c == '$' ? DollarTagLength(s, i) : 0; tag > 0) {
      size_t close = s.find(s.substr(i, tag), i + tag);
      emit(SpanKind::kDollarQuote, close == std::string_view::npos ? s.size() : close + tag);
    } else {
      ++i;
    }
  }
  if (code_begin < s.size()) spans.push_back({SpanKind::kCode, code_begin, s.size()});
  return spans;
}

// psql's heuristic for SQL-standard routine bodies (psqlscan.l): in a statement that starts
// with CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN opens a block that only its END closes,
// and CASE ... END pairs inside it are counted so their END does not close the body.
class AtomicBodyTracker {
 public:
  void Reset() {
    for (std::string& w : prefix_) w.clear();
    words_seen_ = 0;
    routine_ = false;
    depth_ = 0;
  }
  bool Inside() const { return depth_ > 0; }

  void OnWord(std::string_view word, int paren_depth) {
    std::string lower;
    for (char c : word) lower += ToLowerAscii(c);
    if (words_seen_ < kPrefixWords) prefix_[words_seen_] = lower;
    ++words_seen_;
    if (words_seen_ <= kPrefixWords) {
      auto routine = [](const std::string& w) { return w == "function" || w == "procedure"; };
      routine_ = prefix_[0] == "create" &&
                 (routine(prefix_[1]) || (prefix_[1] == "or" && prefix_[2] == "replace" && routine(prefix_[3])));
    }
    if (!routine_ || paren_depth > 0) return;
    if (lower == "begin") {
      ++depth_;
    } else if (lower == "case" && depth_ > 0) {
      ++depth_;
    } else if (lower == "end" && depth_ > 0) {
      --depth_;
    }
  }

 private:
  static constexpr int kPrefixWords = 4;
  std::string prefix_[kPrefixWords];
  int words_seen_ = 0;
  bool routine_ = false;
  int depth_ = 0;
};

// Length of the word or number starting at `pos` in a code span.
size_t RunLength(std::string_view s, size_t pos, size_t end) {
  size_t i = pos;
  while (i < end && (IsIdentChar(s[i]) || (IsDigit(s[pos]) && s[i] == '.'))) ++i;
  return i - pos;
}

}  // namespace

std::vector<Statement> SplitStatements(std::string_view sql) {
  std::vector<Statement> out;
  constexpr size_t kNone = std::string_view::npos;
  size_t start = kNone;
  int paren_depth = 0;
  AtomicBodyTracker atomic;
  int line = 1;
  size_t line_counted_to = 0;

  auto finish = [&](size_t end) {
    if (start != kNone) {
      while (end > start && IsSpace(sql[end - 1])) --end;
      for (; line_counted_to < start; ++line_counted_to) line += sql[line_counted_to] == '\n';
      out.push_back({std::string(sql.substr(start, end - start)), line, start});
    }
    start = kNone;
    paren_depth = 0;
    atomic.Reset();
  };

  for (const Span& span : ScanSpans(sql)) {
    if (span.kind == SpanKind::kComment) continue;
    if (span.kind != SpanKind::kCode) {
      if (start == kNone) start = span.begin;
      continue;
    }
    size_t i = span.begin;
    while (i < span.end) {
      char c = sql[i];
      if (IsSpace(c)) {
        ++i;
        continue;
      }
      if (c == ';' && paren_depth == 0 && !atomic.Inside()) {
        finish(i);
        ++i;
        continue;
      }
      if (start == kNone) start = i;
      if (IsIdentChar(c) && c != '$') {
        size_t n = RunLength(sql, i, span.end);
        if (IsIdentStart(c)) atomic.OnWord(sql.substr(i, n), paren_depth);
        i += n;
        continue;
      }
      if (c == '(') ++paren_depth;
      if (c == ')' && paren_depth > 0) --paren_depth;
      ++i;
    }
  }
  finish(sql.size());
  return out;
}

std::string NormalizeForMatching(std::string_view statement) {
  std::string out;
  bool pending_space = false;
  auto append = [&](char c) {
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += c;
  };
  for (const Span& span : ScanSpans(statement)) {
    if (span.kind == SpanKind::kComment) {
      // A comment separates tokens like whitespace does: a/**/b is two tokens.
      pending_space = true;
    } else if (span.kind == SpanKind::kCode) {
      for (size_t i = span.begin; i < span.end; ++i) {
        if (IsSpace(statement[i])) {
          pending_space = true;
        } else {
          append(ToUpperAscii(statement[i]));
        }
      }
    } else {
      // The E of E'...' is a keyword-like prefix outside the quotes.
      append(ToUpperAscii(statement[span.begin]));
      for (size_t i = span.begin + 1; i < span.end; ++i) out += statement[i];
    }
  }
  return out;
}

std::vector<Token> Tokenize(std::string_view sql) {
  std::vector<Token> out;
  for (const Span& span : ScanSpans(sql)) {
    switch (span.kind) {
      case SpanKind::kComment:
        break;
      case SpanKind::kString:
      case SpanKind::kDollarQuote:
        out.push_back(
            {Token::Kind::kString, std::string(sql.substr(span.begin, span.end - span.begin)), span.begin, span.end});
        break;
      case SpanKind::kQuotedIdentifier: {
        std::string name;
        size_t body_end = span.end - span.begin >= 2 && sql[span.end - 1] == '"' ? span.end - 1 : span.end;
        for (size_t i = span.begin + 1; i < body_end; ++i) {
          name += sql[i];
          if (sql[i] == '"') ++i;  // "" is an escaped quote
        }
        out.push_back({Token::Kind::kQuotedIdentifier, name, span.begin, span.end});
        break;
      }
      case SpanKind::kCode: {
        size_t i = span.begin;
        while (i < span.end) {
          char c = sql[i];
          size_t n = 1;
          Token::Kind kind = Token::Kind::kSymbol;
          if (IsSpace(c)) {
            ++i;
            continue;
          }
          if (IsIdentChar(c) && c != '$') {
            n = RunLength(sql, i, span.end);
            kind = IsIdentStart(c) ? Token::Kind::kWord : Token::Kind::kNumber;
          }
          out.push_back({kind, std::string(sql.substr(i, n)), i, i + n});
          i += n;
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace pgk::migrate
