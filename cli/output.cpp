#include "cli/output.hpp"

#include <cstdio>
#include <iostream>
#include <unistd.h>

#include <boost/json.hpp>

#include "engine/rules.hpp"

namespace pourd::cli {

namespace json = boost::json;

std::string
hundredths_text(std::int64_t value)
{
  const bool negative = value < 0;
  const std::int64_t a = negative ? -value : value;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", negative ? "-" : "",
                static_cast<long long>(a / 100),
                static_cast<long long>(a % 100));
  return buf;
}

std::string
tenths_text(std::int64_t value)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%lld",
                static_cast<long long>(value / 10),
                static_cast<long long>(value % 10));
  return buf;
}

std::string
age_text(std::int64_t ms)
{
  const std::int64_t s = ms < 0 ? 0 : ms / 1000;
  const std::int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
  char buf[48];
  if (d > 0)
    std::snprintf(buf, sizeof buf, "%lldd %lldh", static_cast<long long>(d),
                  static_cast<long long>(h));
  else if (h > 0)
    std::snprintf(buf, sizeof buf, "%lldh %lldm", static_cast<long long>(h),
                  static_cast<long long>(m));
  else if (m > 0)
    std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(m));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

std::int64_t
now_ms()
{
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

const char*
origin_name(std::int32_t origin)
{
  switch (static_cast<orm::Origin>(origin)) {
  case orm::Origin::auto_grouped:
    return "auto";
  case orm::Origin::current:
    return "current";
  case orm::Origin::explicit_choice:
    return "explicit";
  case orm::Origin::recovered:
    return "recovered";
  }
  return "unknown";
}

namespace {

json::array
set_json(const std::string& stored)
{
  json::array out;
  for (const std::string& item : engine::split_set(stored))
    out.emplace_back(item);
  return out;
}

// Whole values as JSON integers, the rest as the nearest double (Boost
// writes those in exponent form, which every JSON reader accepts).
json::value
hundredths_json(std::int64_t value)
{
  if (value % 100 == 0)
    return json::value(value / 100);
  return json::value(static_cast<double>(value) / 100.0);
}

json::value
tenths_json(std::int64_t value)
{
  if (value % 10 == 0)
    return json::value(value / 10);
  return json::value(static_cast<double>(value) / 10.0);
}

} // namespace

json::object
session_json(const orm::Session& s)
{
  json::object o;
  o["id"] = s.id;
  o["user_id"] = s.user_id;
  o["name"] = s.name;
  o["origin"] = origin_name(s.origin);
  o["local_day"] = engine::day_text(s.local_day);
  const std::int64_t started =
      s.first_pour_ms.null() ? s.created_at_ms : *s.first_pour_ms;
  o["started_at"] = engine::utc_text(started);
  o["last_pour_at"] = s.last_pour_ms.null()
                          ? json::value(nullptr)
                          : json::value(engine::utc_text(*s.last_pour_ms));
  o["pour_count"] = s.pour_count;
  o["total_amount_oz"] = hundredths_json(s.total_amount_coz);
  o["total_cost"] = hundredths_json(s.total_cost_minor);
  const auto average = engine::average_tenths(s.rating_sum_tenths,
                                              s.rated_count);
  o["average_rating"] = average ? tenths_json(*average)
                                : json::value(nullptr);
  o["tags"] = set_json(s.tags);
  o["companions"] = set_json(s.companions);
  o["location"] = s.location.empty() ? json::value(nullptr)
                                     : json::value(s.location);
  o["merged_into"] = s.merged_into.null() ? json::value(nullptr)
                                          : json::value(*s.merged_into);
  return o;
}

json::object
pour_json(const orm::Pour& p, const std::string& bottle_name)
{
  json::object o;
  o["id"] = p.id;
  o["user_id"] = p.user_id;
  o["bottle_id"] = p.bottle_id;
  if (!bottle_name.empty())
    o["bottle_name"] = bottle_name;
  o["session_id"] = p.session_id.null() ? json::value(nullptr)
                                        : json::value(*p.session_id);
  o["poured_at"] = engine::utc_text(p.poured_at_ms);
  o["local_time"] = engine::local_text(p.poured_at_ms, p.utc_offset_min);
  o["local_day"] = engine::day_text(p.local_day);
  o["amount_oz"] = hundredths_json(p.amount_coz);
  o["rating"] = p.rating_tenths.null() ? json::value(nullptr)
                                       : tenths_json(*p.rating_tenths);
  o["cost"] = p.cost_minor.null() ? json::value(nullptr)
                                  : hundredths_json(*p.cost_minor);
  o["tags"] = set_json(p.tags);
  o["companions"] = set_json(p.companions);
  o["location"] = p.location.empty() ? json::value(nullptr)
                                     : json::value(p.location);
  o["notes"] = p.notes;
  o["external_id"] = p.external_id.null() ? json::value(nullptr)
                                          : json::value(*p.external_id);
  return o;
}

void
print_json(const json::value& value)
{
  std::cout << json::serialize(value) << '\n';
}

Progress::Progress(std::string what)
    : what_(std::move(what)), active_(isatty(STDERR_FILENO) == 1)
{
}

Progress::~Progress() { finish(); }

void
Progress::update(std::size_t done, std::size_t total)
{
  if (!active_)
    return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100))
    return;
  last_ = now;
  drawn_ = true;
  std::fprintf(stderr, "\r%s: %zu/%zu", what_.c_str(), done, total);
  std::fflush(stderr);
}

void
Progress::finish()
{
  if (!drawn_)
    return;
  // Erase to the end of the line, then return to its start.
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

} // namespace pourd::cli
