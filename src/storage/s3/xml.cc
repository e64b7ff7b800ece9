#include "storage/s3/xml.h"

#include <charconv>
#include <ctime>

namespace pgk::storage::s3 {

namespace {

// Finds the next opening tag "<tag>", "<tag attr...>" or "<tag/>" at or after `from`.
// Returns the position just after '>' and whether it was self-closing.
std::optional<std::pair<size_t, bool>> FindOpen(std::string_view xml, std::string_view tag, size_t from) {
  for (;;) {
    size_t p = xml.find('<', from);
    if (p == std::string_view::npos) return std::nullopt;
    from = p + 1;
    if (xml.compare(p + 1, tag.size(), tag) != 0) continue;
    size_t after = p + 1 + tag.size();
    if (after >= xml.size()) return std::nullopt;
    char c = xml[after];
    if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n') continue;
    size_t close = xml.find('>', after);
    if (close == std::string_view::npos) return std::nullopt;
    return std::make_pair(close + 1, xml[close - 1] == '/');
  }
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string close = "</" + std::string(tag) + ">";
  size_t from = 0;
  while (auto open = FindOpen(xml, tag, from)) {
    auto [start, self_closing] = *open;
    if (self_closing) {
      out.emplace_back();
      from = start;
      continue;
    }
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(start, end - start));
    from = end + close.size();
  }
  return out;
}

std::optional<std::string> XmlText(std::string_view xml, std::string_view tag) {
  auto all = XmlElements(xml, tag);
  if (all.empty()) return std::nullopt;
  return XmlUnescape(all.front());
}

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += text[i];  // a stray '&': keep it rather than lose data
      continue;
    }
    std::string_view ent = text.substr(i + 1, semi - i - 1);
    bool known = true;
    if (ent == "amp") {
      out += '&';
    } else if (ent == "lt") {
      out += '<';
    } else if (ent == "gt") {
      out += '>';
    } else if (ent == "quot") {
      out += '"';
    } else if (ent == "apos") {
      out += '\'';
    } else if (ent.size() > 1 && ent[0] == '#') {
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      known = ec == std::errc() && ptr == digits.data() + digits.size() && !digits.empty() && cp <= 0x10FFFF;
      if (known) AppendUtf8(out, cp);
    } else {
      known = false;
    }
    if (!known) {
      out += text[i];
      continue;
    }
    i = semi;
  }
  return out;
}

std::optional<int64_t> ParseIso8601(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len, int& out) {
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return ec == std::errc() && ptr == text.data() + pos + len;
  };
  std::tm tm{};
  if (!num(0, 4, tm.tm_year) || !num(5, 2, tm.tm_mon) || !num(8, 2, tm.tm_mday) || !num(11, 2, tm.tm_hour) ||
      !num(14, 2, tm.tm_min) || !num(17, 2, tm.tm_sec)) {
    return std::nullopt;
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

std::optional<ListPage> ParseListObjectsV2(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) return std::nullopt;
  ListPage page;
  for (std::string_view contents : XmlElements(xml, "Contents")) {
    ListedObject obj;
    auto key = XmlText(contents, "Key");
    auto size = XmlText(contents, "Size");
    if (!key || !size) return std::nullopt;
    obj.key = *key;
    auto [ptr, ec] = std::from_chars(size->data(), size->data() + size->size(), obj.size);
    if (ec != std::errc() || ptr != size->data() + size->size()) return std::nullopt;
    if (auto lm = XmlText(contents, "LastModified")) obj.mtime_s = ParseIso8601(*lm).value_or(0);
    page.objects.push_back(std::move(obj));
  }
  // <Contents> holds the per-object fields; the top-level ones follow the last of them
  // or precede the first, so strip the objects before looking for IsTruncated.
  std::string top;
  size_t from = 0;
  for (;;) {
    size_t open = xml.find("<Contents>", from);
    top.append(xml.substr(from, open == std::string_view::npos ? std::string_view::npos : open - from));
    if (open == std::string_view::npos) break;
    size_t close = xml.find("</Contents>", open);
    if (close == std::string_view::npos) break;
    from = close + 11;
  }
  page.truncated = XmlText(top, "IsTruncated").value_or("false") == "true";
  page.next_token = XmlText(top, "NextContinuationToken").value_or("");
  if (page.truncated && page.next_token.empty()) return std::nullopt;
  return page;
}

}  // namespace pgk::storage::s3
