#include "engine/rules.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace pourd::engine {

namespace {

std::int64_t
floor_div(std::int64_t a, std::int64_t b)
{
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

using sys_ms = date::sys_time<std::chrono::milliseconds>;

sys_ms
to_sys(std::int64_t utc_ms)
{
  return sys_ms{std::chrono::milliseconds{utc_ms}};
}

// "2026-12-03T21:15:00" plus ".123" when the milliseconds are not zero.
std::string
wall_text(std::int64_t wall_ms)
{
  const auto tp = to_sys(wall_ms);
  const auto day = date::floor<date::days>(tp);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss hms{tp - day};
  char buf[40];
  int n = std::snprintf(
      buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d",
      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
      static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
      static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()));
  const auto ms = hms.subseconds().count();
  if (ms != 0)
    std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms));
  return buf;
}

bool
digits(std::string_view s, std::size_t pos, std::size_t n, int& out)
{
  if (pos + n > s.size())
    return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Decodes the code point at `i` and moves `i` past it; nullopt for bytes
// that are not UTF-8 (overlong forms, surrogates, values past Unicode).
std::optional<char32_t>
next_code_point(std::string_view text, std::size_t& i)
{
  const auto c = static_cast<unsigned char>(text[i]);
  std::size_t n = 0;
  char32_t cp = 0;
  if (c < 0x80) {
    n = 1;
    cp = c;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + n > text.size())
    return std::nullopt;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0) != 0x80)
      return std::nullopt;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr char32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < k_min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return std::nullopt;
  i += n;
  return cp;
}

void
append_utf8(std::string& out, char32_t cp)
{
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

// Lower case by the Unicode tables of the C library's C.UTF-8 locale, so
// "ÖL" and "öl" are one tag. Text that is not UTF-8 is left as it is
// (validation refuses it anyway).
std::string
lower_unicode(std::string_view text)
{
  static const locale_t utf8 =
      newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto cp = next_code_point(text, i);
    if (!cp)
      return std::string(text);
    char32_t lower = *cp;
    if (lower >= 'A' && lower <= 'Z')
      lower += 'a' - 'A';
    else if (lower >= 0x80 && utf8)
      lower = static_cast<char32_t>(towlower_l(static_cast<wint_t>(*cp), utf8));
    append_utf8(out, lower);
  }
  return out;
}

std::string
trim_lower(std::string_view s)
{
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return lower_unicode(s);
}

constexpr std::array<std::string_view, 7> k_locations = {
    "Home", "Bar", "Restaurant", "Tasting", "Friend's Place", "Event", "Other"};

constexpr std::size_t k_max_set_item = 64;

} // namespace

// --------------------------------------------------------------------------
// Time

std::int32_t
local_day(std::int64_t utc_ms, std::int32_t offset_min,
          std::int32_t boundary_min)
{
  const std::int64_t wall =
      utc_ms + (std::int64_t{offset_min} - boundary_min) * k_minute_ms;
  return static_cast<std::int32_t>(floor_div(wall, k_day_ms));
}

bool
valid_time_zone(const std::string& name)
{
  // "localtime" is the host's zone file, not an IANA name: a user's days
  // would follow whatever machine pourd runs on.
  if (name.empty() || name == "localtime")
    return false;
  try {
    date::locate_zone(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::int32_t
zone_offset(const std::string& name, std::int64_t utc_ms)
{
  const date::time_zone* zone = date::locate_zone(name);
  const auto info = zone->get_info(to_sys(utc_ms));
  return static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::minutes>(info.offset).count());
}

std::string
day_text(std::int32_t day)
{
  const date::year_month_day ymd{date::sys_days{date::days{day}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<std::int32_t>
parse_day(std::string_view s)
{
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, y) ||
      !digits(s, 5, 2, m) || !digits(s, 8, 2, d))
    return std::nullopt;
  const date::year_month_day ymd{date::year{y},
                                 date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return std::nullopt;
  return static_cast<std::int32_t>(
      date::sys_days{ymd}.time_since_epoch().count());
}

std::string
utc_text(std::int64_t utc_ms)
{
  return wall_text(utc_ms) + "Z";
}

std::string
local_text(std::int64_t utc_ms, std::int32_t offset_min)
{
  const int a = offset_min < 0 ? -offset_min : offset_min;
  char off[16];
  std::snprintf(off, sizeof off, "%c%02d:%02d", offset_min < 0 ? '-' : '+',
                a / 60, a % 60);
  return wall_text(utc_ms + std::int64_t{offset_min} * k_minute_ms) + off;
}

std::optional<ParsedTime>
parse_time(std::string_view s)
{
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':' || !digits(s, 0, 4, y) || !digits(s, 5, 2, mo) ||
      !digits(s, 8, 2, d) || !digits(s, 11, 2, h) || !digits(s, 14, 2, mi) ||
      !digits(s, 17, 2, se))
    return std::nullopt;
  if (h > 23 || mi > 59 || se > 59)
    return std::nullopt;
  const date::year_month_day ymd{date::year{y},
                                 date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return std::nullopt;

  std::size_t pos = 19;
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int places = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (places < 3)
        ms = ms * 10 + (s[pos] - '0');
      ++places;
      ++pos;
    }
    if (places == 0)
      return std::nullopt;
    for (; places < 3; ++places)
      ms *= 10;
  }

  ParsedTime out;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else {
    int oh = 0, om = 0;
    if (pos + 6 != s.size() || (s[pos] != '+' && s[pos] != '-') ||
        s[pos + 3] != ':' || !digits(s, pos + 1, 2, oh) ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    const int sign = s[pos] == '-' ? -1 : 1;
    out.offset_min = sign * (oh * 60 + om);
    pos += 6;
  }
  if (pos != s.size())
    return std::nullopt;

  const std::int64_t wall =
      date::sys_days{ymd}.time_since_epoch().count() * k_day_ms +
      std::int64_t{h} * k_hour_ms + std::int64_t{mi} * k_minute_ms +
      std::int64_t{se} * 1000 + ms;
  out.utc_ms = wall - std::int64_t{out.offset_min.value_or(0)} * k_minute_ms;
  return out;
}

bool
plausible_instant(std::int64_t utc_ms)
{
  // 3000-01-01T00:00:00Z
  return utc_ms >= 0 && utc_ms < 32'503'680'000'000;
}

bool
plausible_offset(std::int32_t offset_min)
{
  return offset_min >= k_min_offset_min && offset_min <= k_max_offset_min;
}

std::string
session_name(std::int64_t utc_ms, std::int32_t offset_min, bool recovered)
{
  const std::string local =
      wall_text(utc_ms + std::int64_t{offset_min} * k_minute_ms);
  // "YYYY-MM-DDTHH:MM..." -> "YYYY-MM-DD HH:MM"
  std::string name =
      "Session " + local.substr(0, 10) + " " + local.substr(11, 5);
  if (recovered)
    name += " (Recovered)";
  return name;
}

// --------------------------------------------------------------------------
// Values

bool
valid_email(std::string_view s)
{
  const auto at = s.find('@');
  const auto length = utf8_length(s);
  return length && *length > 0 && *length <= 255 && at != 0 &&
         at != std::string_view::npos && at + 1 < s.size() &&
         s.find_first_of(" \t\r\n,;<>") == std::string_view::npos &&
         std::none_of(s.begin(), s.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string
email_key(std::string_view email)
{
  std::string key(email);
  for (char& c : key)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return key;
}

std::optional<std::string>
canonical_location(std::string_view text)
{
  const std::string want = trim_lower(text);
  for (std::string_view l : k_locations)
    if (trim_lower(l) == want)
      return std::string(l);
  return std::nullopt;
}

std::vector<std::string>
normalize_set(const std::vector<std::string>& in, const std::string& field,
              std::vector<FieldError>& errors)
{
  std::set<std::string> out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::string item = trim_lower(in[i]);
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (item.empty()) {
      errors.push_back({where, "must not be empty"});
      continue;
    }
    const auto length = utf8_length(item);
    if (!length) {
      errors.push_back({where, "must be valid UTF-8"});
      continue;
    }
    if (*length > k_max_set_item) {
      errors.push_back({where, "must be at most " +
                                   std::to_string(k_max_set_item) +
                                   " characters"});
      continue;
    }
    if (std::any_of(item.begin(), item.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      errors.push_back({where, "must not contain control characters"});
      continue;
    }
    out.insert(item);
  }
  return {out.begin(), out.end()};
}

std::string
join_set(const std::vector<std::string>& items)
{
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty())
      out += '\n';
    out += item;
  }
  return out;
}

std::vector<std::string>
split_set(const std::string& text)
{
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    if (end > start)
      out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string
union_sets(const std::string& a, const std::string& b)
{
  if (b.empty())
    return a;
  if (a.empty())
    return b;
  std::set<std::string> all;
  for (auto& s : split_set(a))
    all.insert(std::move(s));
  for (auto& s : split_set(b))
    all.insert(std::move(s));
  return join_set({all.begin(), all.end()});
}

std::optional<std::size_t>
utf8_length(std::string_view text)
{
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++count)
    if (!next_code_point(text, i))
      return std::nullopt;
  return count;
}

std::int64_t
pour_cost(std::int64_t price_minor, std::int32_t volume_ml,
          std::int64_t amount_coz)
{
  // cost = price * amount_oz / volume_oz, with 1 oz = 29.5735 ml:
  // price * (amount_coz / 100) * 29.5735 / volume_ml. Validation keeps
  // prices under 10^8 minor units and amounts at most 10^3, so the
  // product stays below 2^63.
  const std::int64_t num = price_minor * amount_coz * 295735;
  const std::int64_t den = std::int64_t{volume_ml} * 1'000'000;
  return (2 * num + den) / (2 * den);
}

std::optional<std::int64_t>
average_tenths(std::int64_t sum_tenths, std::int64_t count)
{
  if (count <= 0)
    return std::nullopt;
  return (2 * sum_tenths + count) / (2 * count);
}

void
add_to_stats(orm::Session& s, const orm::Pour& p)
{
  // A session is named after its first pour, in that pour's local time.
  if (s.pour_count == 0 || p.poured_at_ms < *s.first_pour_ms) {
    s.first_pour_ms = p.poured_at_ms;
    s.utc_offset_min = p.utc_offset_min;
    s.name = session_name(
        p.poured_at_ms, p.utc_offset_min,
        s.origin == static_cast<std::int32_t>(orm::Origin::recovered));
  }
  if (s.pour_count == 0 || p.poured_at_ms > *s.last_pour_ms)
    s.last_pour_ms = p.poured_at_ms;
  if (p.auto_grouped) {
    if (s.auto_first_ms.null() || p.poured_at_ms < *s.auto_first_ms)
      s.auto_first_ms = p.poured_at_ms;
    if (s.auto_last_ms.null() || p.poured_at_ms > *s.auto_last_ms)
      s.auto_last_ms = p.poured_at_ms;
  }
  ++s.pour_count;
  s.total_amount_coz += p.amount_coz;
  if (!p.cost_minor.null())
    s.total_cost_minor += *p.cost_minor;
  if (!p.rating_tenths.null()) {
    s.rating_sum_tenths += *p.rating_tenths;
    ++s.rated_count;
  }
  s.tags = union_sets(s.tags, p.tags);
  s.companions = union_sets(s.companions, p.companions);
  // A session without a place of its own takes its first placed pour's.
  if (s.location.empty())
    s.location = p.location;
}

void
recompute_stats(orm::Session& s, const std::vector<orm::Pour>& pours)
{
  s.first_pour_ms.reset();
  s.last_pour_ms.reset();
  s.auto_first_ms.reset();
  s.auto_last_ms.reset();
  s.pour_count = 0;
  s.total_amount_coz = 0;
  s.total_cost_minor = 0;
  s.rating_sum_tenths = 0;
  s.rated_count = 0;
  // Tags set on the session itself (current-session requests) stay.
  for (const orm::Pour& p : pours)
    add_to_stats(s, p);
}

// --------------------------------------------------------------------------
// Grouping

Span
span_of(const orm::Session& s)
{
  if (!s.auto_first_ms.null() && !s.auto_last_ms.null())
    return {*s.auto_first_ms, *s.auto_last_ms};
  if (s.pour_count > 0 && !s.first_pour_ms.null() && !s.last_pour_ms.null())
    return {*s.first_pour_ms, *s.last_pour_ms};
  return {s.created_at_ms, s.created_at_ms};
}

bool
fits(const Span& span, std::int64_t t, std::int64_t timeout_ms)
{
  return t >= span.first_ms - timeout_ms && t <= span.last_ms + timeout_ms;
}

DayPlan
plan_day(const std::vector<orm::Session>& sessions,
         const std::vector<std::int64_t>& pour_times, std::int64_t timeout_ms)
{
  struct Group
  {
    bool existing;
    std::size_t index;
    bool has_pours;
    Span span;
    std::optional<std::size_t> merged_into; // into another group
  };

  std::vector<Group> groups;
  groups.reserve(sessions.size() + pour_times.size());
  for (std::size_t i = 0; i < sessions.size(); ++i)
    groups.push_back({true, i, sessions[i].pour_count > 0, span_of(sessions[i]),
                      std::nullopt});

  std::vector<std::size_t> order(pour_times.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
    return pour_times[a] < pour_times[b];
  });

  auto root = [&](std::size_t g) {
    while (groups[g].merged_into)
      g = *groups[g].merged_into;
    return g;
  };

  // The group each pour joined at its turn; resolved to roots at the end.
  std::vector<std::size_t> joined(pour_times.size());
  DayPlan plan;
  for (std::size_t k : order) {
    const std::int64_t t = pour_times[k];
    std::vector<std::size_t> hits;
    for (std::size_t g = 0; g < groups.size(); ++g)
      if (!groups[g].merged_into && fits(groups[g].span, t, timeout_ms))
        hits.push_back(g);

    if (hits.empty()) {
      groups.push_back({false, plan.new_groups++, true, {t, t}, std::nullopt});
      joined[k] = groups.size() - 1;
      continue;
    }

    // The survivor: an existing session before a new group, then the one
    // that began first.
    auto better = [&](std::size_t a, std::size_t b) {
      const Group& x = groups[a];
      const Group& y = groups[b];
      if (x.existing != y.existing)
        return x.existing;
      return x.span.first_ms < y.span.first_ms;
    };
    std::size_t keep = hits.front();
    for (std::size_t g : hits)
      if (better(g, keep))
        keep = g;

    Group& survivor = groups[keep];
    for (std::size_t g : hits) {
      if (g == keep)
        continue;
      groups[g].merged_into = keep;
      if (groups[g].has_pours) {
        if (survivor.has_pours) {
          survivor.span.first_ms =
              std::min(survivor.span.first_ms, groups[g].span.first_ms);
          survivor.span.last_ms =
              std::max(survivor.span.last_ms, groups[g].span.last_ms);
        } else {
          survivor.span = groups[g].span;
          survivor.has_pours = true;
        }
      }
    }
    if (survivor.has_pours) {
      survivor.span.first_ms = std::min(survivor.span.first_ms, t);
      survivor.span.last_ms = std::max(survivor.span.last_ms, t);
    } else {
      survivor.span = {t, t};
      survivor.has_pours = true;
    }
    joined[k] = keep;
  }

  // New groups that were merged away leave gaps; renumber the rest.
  std::vector<std::size_t> new_index(plan.new_groups);
  std::size_t kept_new = 0;
  for (const Group& g : groups)
    if (!g.existing && !g.merged_into)
      new_index[g.index] = kept_new++;

  plan.pour_targets.resize(pour_times.size());
  plan.touched.assign(sessions.size(), false);
  for (std::size_t k = 0; k < pour_times.size(); ++k) {
    const Group& g = groups[root(joined[k])];
    plan.pour_targets[k] = {g.existing,
                            g.existing ? g.index : new_index[g.index]};
    if (g.existing)
      plan.touched[g.index] = true;
  }
  plan.new_groups = kept_new;

  plan.merged_into.assign(sessions.size(), std::nullopt);
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (!groups[i].merged_into)
      continue;
    // Existing groups only merge into existing ones: an existing session
    // always wins over a new group.
    plan.merged_into[i] = groups[root(i)].index;
  }
  return plan;
}

} // namespace pourd::engine
