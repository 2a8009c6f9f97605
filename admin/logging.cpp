#include "admin/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace pourd::logging {

namespace {

std::atomic<config::LogFormat> g_format{config::LogFormat::text};

std::mutex&
setup_mutex()
{
  static std::mutex m;
  return m;
}

spdlog::level::level_enum
level_of(const std::string& name)
{
  const auto level = spdlog::level::from_str(name);
  // from_str answers "off" for names it does not know.
  if (level == spdlog::level::off && name != "off")
    throw std::invalid_argument("unknown log level '" + name + "'");
  return level;
}

std::string
pattern(config::LogFormat format)
{
  // journald stamps every line itself; elsewhere the time helps.
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  if (format == config::LogFormat::logfmt)
    return journal ? "level=%l logger=%n %v"
                   : "ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l logger=%n %v";
  return journal ? "%n %l: %v" : "%Y-%m-%dT%H:%M:%S.%eZ %n %l: %v";
}

bool
needs_quotes(std::string_view v)
{
  if (v.empty())
    return true;
  for (char c : v)
    if (c == ' ' || c == '=' || c == '"' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20)
      return true;
  return false;
}

void
append_value(std::string& out, std::string_view v)
{
  if (!needs_quotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += '"';
}

std::shared_ptr<spdlog::logger>
named(const std::string& name)
{
  std::lock_guard lock(setup_mutex());
  if (auto existing = spdlog::get(name))
    return existing;
  auto logger = spdlog::stderr_logger_mt(name);
  logger->set_pattern(pattern(g_format.load()), spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::get_level());
  return logger;
}

} // namespace

void
setup(config::LogFormat format, const std::string& level)
{
  const auto lvl = level_of(level);
  g_format = format;
  std::lock_guard lock(setup_mutex());
  spdlog::set_level(lvl);
  spdlog::set_pattern(pattern(format), spdlog::pattern_time_type::utc);
  // Warnings and errors reach the journal at once.
  spdlog::flush_on(spdlog::level::info);
}

void
set_level(const std::string& level)
{
  spdlog::set_level(level_of(level));
}

std::string
format_line(std::string_view message, Fields fields)
{
  std::string out;
  if (g_format.load() == config::LogFormat::logfmt) {
    out += "msg=";
    out += '"';
    out += message;
    out += '"';
  } else {
    out += message;
  }
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    append_value(out, f.value);
  }
  return out;
}

Log::Log(const std::string& subsystem) : logger_(named(subsystem))
{}

void
Log::debug(std::string_view message, Fields fields) const
{
  if (logger_->should_log(spdlog::level::debug))
    logger_->debug(format_line(message, fields));
}

void
Log::info(std::string_view message, Fields fields) const
{
  if (logger_->should_log(spdlog::level::info))
    logger_->info(format_line(message, fields));
}

void
Log::warn(std::string_view message, Fields fields) const
{
  logger_->warn(format_line(message, fields));
}

void
Log::error(std::string_view message, Fields fields) const
{
  logger_->error(format_line(message, fields));
}

bool
Log::debug_enabled() const
{
  return logger_->should_log(spdlog::level::debug);
}

} // namespace pourd::logging
