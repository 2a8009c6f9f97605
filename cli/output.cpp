#include "cli/output.hpp"

#include "admin/json.hpp"
#include "engine/rules.hpp"

#include <boost/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>

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

void
print_json(const json::value& value)
{
  std::cout << pourd::json::serialize(value) << '\n';
}

Progress::Progress(std::string what)
    : what_(std::move(what)), active_(isatty(STDERR_FILENO) == 1)
{}

Progress::~Progress()
{
  finish();
}

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
