// Log lines: a fixed message, then key=value fields, in the human `text`
// format or in `logfmt`. One named logger per subsystem, all to stderr.
//
// Thread-safe: spdlog loggers are; the format is set once at start.
#pragma once

#include "config/config.hpp"

#include <concepts>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace pourd::logging {

struct Field
{
  Field(std::string k, std::string v) : key(std::move(k)), value(std::move(v))
  {}
  Field(std::string k, const char* v) : key(std::move(k)), value(v) {}
  Field(std::string k, std::string_view v) : key(std::move(k)), value(v) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v ? "true" : "false")
  {}
  template <std::integral T>
  Field(std::string k, T v) : key(std::move(k)), value(std::to_string(v))
  {}

  std::string key;
  std::string value;
};

using Fields = std::initializer_list<Field>;

// Sets the format and level of every logger, present and future. Throws
// std::invalid_argument for an unknown level name.
void setup(config::LogFormat format, const std::string& level);
void set_level(const std::string& level);

// The message with its fields as the format writes them, without the
// logger's prefix: `sweep done found=3` or `msg="sweep done" found=3`.
std::string format_line(std::string_view message, Fields fields);

class Log
{
public:
  // The logger named `subsystem` ("daemon", "admin", "sweep", ...).
  explicit Log(const std::string& subsystem);

  void debug(std::string_view message, Fields fields = {}) const;
  void info(std::string_view message, Fields fields = {}) const;
  void warn(std::string_view message, Fields fields = {}) const;
  void error(std::string_view message, Fields fields = {}) const;

  bool debug_enabled() const;

private:
  std::shared_ptr<spdlog::logger> logger_;
};

} // namespace pourd::logging
