#include "serve/cron.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace pgk::serve {

namespace {

struct FieldSpec {
  const char* name;
  int min, max;
  const char* const* names;  // names[i] is value min+i (nullptr: numbers only)
};

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const FieldSpec kFields[] = {{"minute", 0, 59, nullptr},
                             {"hour", 0, 23, nullptr},
                             {"day-of-month", 1, 31, nullptr},
                             {"month", 1, 12, kMonthNames},
                             {"day-of-week", 0, 7, kDayNames}};  // 7 is Sunday too

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<int> Value(const std::string& text, const FieldSpec& f, const std::string& where) {
  if (text.empty()) return Status::Config(where + ": empty value", "see docs/commands/serve.md for the cron syntax");
  if (std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (text.size() > 4)
      return Status::Config(where + ": " + text + " is out of range " + std::to_string(f.min) + "-" +
                            std::to_string(f.max));
    int v = std::stoi(text);
    if (v < f.min || v > f.max) {
      return Status::Config(where + ": " + text + " is out of range " + std::to_string(f.min) + "-" +
                            std::to_string(f.max));
    }
    return v;
  }
  if (f.names) {
    std::string l = Lower(text);
    int count = f.max - f.min + 1 - (f.names == kDayNames ? 1 : 0);
    for (int i = 0; i < count; ++i)
      if (l == f.names[i]) return f.min + i;
  }
  return Status::Config(where + ": '" + text + "' is not a number" + (f.names ? " or a name" : "") + " in " +
                            std::to_string(f.min) + "-" + std::to_string(f.max),
                        f.names == kMonthNames ? "months are 1-12 or jan..dec"
                        : f.names == kDayNames ? "days of the week are 0-7 (0 and 7 are Sunday) or sun..sat"
                                               : "see docs/commands/serve.md for the cron syntax");
}

// Parses one field into `bits` (index = value). Returns whether it starts with '*'.
template <size_t N>
Result<bool> ParseField(const std::string& text, const FieldSpec& f, const std::string& schedule,
                        std::bitset<N>* bits) {
  std::string where = "cron schedule \"" + schedule + "\": " + f.name;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) return Status::Config(where + ": empty list item in '" + text + "'");
    int step = 1;
    std::string range = item;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      std::string s = item.substr(slash + 1);
      range = item.substr(0, slash);
      if (s.empty() ||
          !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
          s.size() > 3 || std::stoi(s) == 0) {
        return Status::Config(where + ": step '" + s + "' in '" + item + "' must be a positive number");
      }
      step = std::stoi(s);
    }
    int lo, hi;
    if (range == "*") {
      lo = f.min;
      hi = f.max == 7 ? 6 : f.max;
    } else if (auto dash = range.find('-'); dash != std::string::npos) {
      PGK_ASSIGN_OR_RETURN(lo, Value(range.substr(0, dash), f, where));
      PGK_ASSIGN_OR_RETURN(hi, Value(range.substr(dash + 1), f, where));
      if (lo > hi) {
        return Status::Config(where + ": range '" + range + "' runs backwards",
                              "write the smaller value first, e.g. 1-5");
      }
    } else {
      PGK_ASSIGN_OR_RETURN(lo, Value(range, f, where));
      // "5/15" means "from 5 to the end, every 15" (Vixie cron).
      hi = item.find('/') != std::string::npos ? (f.max == 7 ? 6 : f.max) : lo;
    }
    for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(f.max == 7 && v == 7 ? 0 : v));
  }
  if (bits->none()) return Status::Config(where + ": '" + text + "' matches nothing");
  return !text.empty() && text[0] == '*';
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(const std::string& raw) {
  std::string text = raw;
  text.erase(0, text.find_first_not_of(" \t"));
  text.erase(text.find_last_not_of(" \t") + 1);
  CronSchedule c;
  c.text_ = text;
  std::string expanded = text;
  if (!text.empty() && text[0] == '@') {
    std::string l = Lower(text);
    if (l == "@hourly")
      expanded = "0 * * * *";
    else if (l == "@daily" || l == "@midnight")
      expanded = "0 0 * * *";
    else if (l == "@weekly")
      expanded = "0 0 * * 0";
    else if (l == "@monthly")
      expanded = "0 0 1 * *";
    else if (l == "@yearly" || l == "@annually")
      expanded = "0 0 1 1 *";
    else {
      return Status::Config("cron schedule \"" + text + "\": unknown shorthand",
                            "use @hourly, @daily, @weekly, @monthly or @yearly, or five fields");
    }
  }
  std::vector<std::string> fields;
  std::stringstream in(expanded);
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return Status::Config("cron schedule \"" + text + "\" has " + std::to_string(fields.size()) + " field(s), not 5",
                          "write minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" for 02:00 daily");
  }
  PGK_ASSIGN_OR_RETURN(bool minute_star, ParseField(fields[0], kFields[0], text, &c.minutes_));
  (void)minute_star;
  PGK_ASSIGN_OR_RETURN(c.hours_star_, ParseField(fields[1], kFields[1], text, &c.hours_));
  PGK_ASSIGN_OR_RETURN(c.days_star_, ParseField(fields[2], kFields[2], text, &c.days_));
  PGK_ASSIGN_OR_RETURN(bool months_star, ParseField(fields[3], kFields[3], text, &c.months_));
  (void)months_star;
  PGK_ASSIGN_OR_RETURN(c.weekdays_star_, ParseField(fields[4], kFields[4], text, &c.weekdays_));
  // Every hour listed ("0-23") behaves like "*" for the DST rules.
  if (c.hours_.all()) c.hours_star_ = true;
  return c;
}

bool CronSchedule::MatchesDay(int /*year*/, unsigned month, unsigned day, int weekday) const {
  if (!months_[month]) return false;
  bool dom = days_[day], dow = weekdays_[static_cast<size_t>(weekday)];
  // Vixie cron: with both fields restricted, either may match; with one a star, both must.
  if (days_star_ || weekdays_star_) return dom && dow;
  return dom || dow;
}

namespace {

// The fire instants (UTC) of one local calendar day, sorted.
std::vector<int64_t> DayFires(int64_t local_day, const TimeZone& tz, const std::bitset<24>& hours,
                              const std::bitset<60>& minutes, bool hours_star) {
  std::vector<int64_t> out;
  for (int h = 0; h < 24; ++h) {
    if (!hours[static_cast<size_t>(h)]) continue;
    for (int m = 0; m < 60; ++m) {
      if (!minutes[static_cast<size_t>(m)]) continue;
      int64_t local = local_day * 86400 + h * 3600 + m * 60;
      // The offsets that could apply to this wall time: those a day before and after.
      int32_t o1 = tz.OffsetAt(local - 86400), o2 = tz.OffsetAt(local + 86400);
      int32_t o3 = tz.OffsetAt(local - o1);
      std::vector<int64_t> valid;
      for (int32_t o : {o1, o2, o3}) {
        int64_t u = local - o;
        if (tz.OffsetAt(u) == o && std::find(valid.begin(), valid.end(), u) == valid.end()) valid.push_back(u);
      }
      std::sort(valid.begin(), valid.end());
      if (valid.empty()) {
        // Skipped by a spring-forward: a fixed-hour job runs right after the gap.
        if (!hours_star) {
          if (auto t = tz.NextTransition(local - std::max({o1, o2, o3}))) out.push_back(*t);
        }
      } else if (valid.size() > 1 && !hours_star) {
        out.push_back(valid.front());  // repeated by a fall-back: once
      } else {
        out.insert(out.end(), valid.begin(), valid.end());
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

// A DST edge can move a day's fire time by an hour, across midnight: once a day gives a
// candidate, one more day is looked at before answering.
std::optional<int64_t> CronSchedule::Next(int64_t after, const TimeZone& tz) const {
  int64_t day = FloorDiv(after + tz.OffsetAt(after), 86400) - 1;
  std::optional<int64_t> best;
  std::optional<int64_t> found_at;
  for (int64_t n = 0; n < 8 * 366 + 3; ++n, ++day) {
    int y;
    unsigned mo, d;
    CivilFromDays(day, &y, &mo, &d);
    if (MatchesDay(y, mo, d, Weekday(day))) {
      for (int64_t t : DayFires(day, tz, hours_, minutes_, hours_star_)) {
        if (t > after && (!best || t < *best)) best = t;
      }
    }
    if (best && !found_at) found_at = n;
    if (found_at && n > *found_at) return best;
  }
  return best;
}

std::optional<int64_t> CronSchedule::Previous(int64_t at, const TimeZone& tz, int64_t horizon_s) const {
  int64_t day = FloorDiv(at + tz.OffsetAt(at), 86400) + 1;
  int64_t stop = FloorDiv(at - horizon_s, 86400) - 1;
  std::optional<int64_t> best;
  std::optional<int64_t> found_at;
  for (; day >= stop; --day) {
    int y;
    unsigned mo, d;
    CivilFromDays(day, &y, &mo, &d);
    if (MatchesDay(y, mo, d, Weekday(day))) {
      for (int64_t t : DayFires(day, tz, hours_, minutes_, hours_star_)) {
        if (t <= at && (!best || t > *best)) best = t;
      }
    }
    if (best && !found_at) found_at = day;
    if (found_at && day < *found_at) break;
  }
  if (best && *best < at - horizon_s) return std::nullopt;
  return best;
}

}  // namespace pgk::serve
