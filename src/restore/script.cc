#include "restore/script.h"

#include <cctype>

namespace pgk::restore {

namespace {

bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }

// At `i` (a '$'), the length of a dollar-quote delimiter ($$ or $tag$), or 0 if there is none.
size_t DollarTag(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])))) return 0;  // $1: a parameter
  while (j < s.size() && IdentChar(s[j])) ++j;
  return j < s.size() && s[j] == '$' ? j - i + 1 : 0;
}

}  // namespace

Result<std::string> StripPsqlMetaCommands(std::string_view sql, const std::string& origin) {
  enum class State { kCode, kString, kEString, kIdent, kDollar, kLineComment, kBlockComment };
  State state = State::kCode;
  std::string_view dollar_tag;
  int block_depth = 0;
  int line = 1;
  std::string out;
  out.reserve(sql.size());
  size_t i = 0;
  while (i < sql.size()) {
    bool line_start = i == 0 || sql[i - 1] == '\n';
    char c = sql[i];
    if (line_start && c == '\\' && state == State::kCode) {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size();
      std::string_view cmd = sql.substr(i + 1, end - i - 1);
      std::string_view word = cmd.substr(0, cmd.find_first_of(" \t\r"));
      if (word != "restrict" && word != "unrestrict") {
        return Status::Malformed(
            origin + " line " + std::to_string(line) + ": unsupported psql meta-command \\" + std::string(word),
            "only \\restrict and \\unrestrict are understood; the script was not written by "
            "pg_dump --section, or needs psql");
      }
      i = end;  // keep the newline itself
      continue;
    }
    if (c == '\n') ++line;
    out += c;
    char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    switch (state) {
      case State::kCode:
        if (c == '\'') {
          bool e = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IdentChar(sql[i - 2]));
          state = e ? State::kEString : State::kString;
        } else if (c == '"') {
          state = State::kIdent;
        } else if (c == '-' && next == '-') {
          state = State::kLineComment;
        } else if (c == '/' && next == '*') {
          state = State::kBlockComment;
          block_depth = 1;
          out += next;
          ++i;
        } else if (c == '$' && (i == 0 || !IdentChar(sql[i - 1]))) {
          if (size_t n = DollarTag(sql, i)) {
            dollar_tag = sql.substr(i, n);
            out.append(sql.substr(i + 1, n - 1));
            i += n - 1;
            state = State::kDollar;
          }
        }
        break;
      case State::kString:
        if (c == '\'') state = State::kCode;  // '' re-enters kString at the next quote
        break;
      case State::kEString:
        if (c == '\\' && i + 1 < sql.size()) {
          if (next == '\n') ++line;
          out += next;
          ++i;
        } else if (c == '\'') {
          if (next == '\'') {
            out += next;
            ++i;
          } else {
            state = State::kCode;
          }
        }
        break;
      case State::kIdent:
        if (c == '"') state = State::kCode;
        break;
      case State::kDollar:
        if (c == '$' && sql.substr(i, dollar_tag.size()) == dollar_tag) {
          out.append(dollar_tag.substr(1));
          i += dollar_tag.size() - 1;
          state = State::kCode;
        }
        break;
      case State::kLineComment:
        if (c == '\n') state = State::kCode;
        break;
      case State::kBlockComment:
        if (c == '/' && next == '*') {
          ++block_depth;
          out += next;
          ++i;
        } else if (c == '*' && next == '/') {
          out += next;
          ++i;
          if (--block_depth == 0) state = State::kCode;
        }
        break;
    }
    ++i;
  }
  return out;
}

Result<std::pair<std::string, std::string>> SplitQualifiedName(std::string_view q) {
  std::string parts[2];
  int part = 0;
  size_t i = 0;
  auto bad = [&] {
    return Status::Malformed("\"" + std::string(q) + "\" is not a qualified table name (schema.table)");
  };
  while (i < q.size()) {
    if (q[i] == '"') {
      ++i;
      for (;;) {
        if (i >= q.size()) return bad();
        if (q[i] == '"') {
          if (i + 1 < q.size() && q[i + 1] == '"') {
            parts[part] += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        parts[part] += q[i++];
      }
    } else {
      while (i < q.size() && q[i] != '.') {
        if (q[i] == '"') return bad();
        parts[part] += static_cast<char>(std::tolower(static_cast<unsigned char>(q[i])));
        ++i;
      }
    }
    if (i < q.size()) {
      if (q[i] != '.' || part == 1) return bad();
      ++part;
      ++i;
    }
  }
  if (part != 1 || parts[0].empty() || parts[1].empty()) return bad();
  return std::make_pair(parts[0], parts[1]);
}

}  // namespace pgk::restore
