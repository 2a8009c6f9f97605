// Output helpers shared by the commands: numbers the way operators read
// them, JSON documents, and progress lines on a terminal. The JSON views of
// the model are pourd's own (admin/json.hpp), so both tools agree.
#pragma once

#include "orm/model.hxx"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace pourd::cli {

// "12.50" for 1250 hundredths (ounces, money).
std::string hundredths_text(std::int64_t value);

// "7.5" for 75 tenths.
std::string tenths_text(std::int64_t value);

// "3d 4h", "2h 5m", "40s": an age for people.
std::string age_text(std::int64_t ms);

std::int64_t now_ms();

// One compact document and a newline on stdout, for scripts and jq.
void print_json(const boost::json::value& value);

// A self-overwriting "what: done/total" line on stderr, shown only when
// stderr is a terminal and redrawn at most ten times a second.
class Progress
{
public:
  explicit Progress(std::string what);
  ~Progress();

  void update(std::size_t done, std::size_t total);
  // Clears the line so later output starts clean.
  void finish();

private:
  std::string what_;
  bool active_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

} // namespace pourd::cli
