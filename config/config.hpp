// pourd's settings, read by pourd and pourctl alike.
//
// Every key comes from the file (`key = value` lines, `#` comments), from
// the environment as POURD_<KEY>, or from a flag --key=VALUE; a flag beats
// the environment, which beats the file. Unknown keys and bad values throw
// ConfigError naming the key and where it came from.
#pragma once

#include "engine/rules.hpp"
#include "orm/store.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pourd::config {

class ConfigError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

enum class LogFormat
{
  text,
  logfmt
};

struct Config
{
  std::string database;        // URL; defaults to sqlite in state_dir
  orm::ConnectOptions connect; // parsed from `database`
  std::string state_dir = "./var";
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8787;
  // Admin HTTP limits: open connections, the wait for a request on an
  // idle connection, and the time a request may take to arrive whole.
  std::size_t max_connections = 1024;
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::string admin_token;      // empty: generate into the state dir
  std::string admin_token_file; // where it was read from, if a file
  std::string cron_secret;      // empty: the cron route answers 503
  std::string cron_secret_file;
  engine::Settings rules;
  std::chrono::milliseconds sweep_interval{5 * 60 * 1000}; // 0: no timer
  std::size_t sweep_batch = 1000;
  LogFormat log_format = LogFormat::text;
  std::string log_level = "info";
  std::string config_file; // the file read, empty when none
  // POURD_* variables that name no key: likely typos, worth a warning
  // (other tools' variables share the prefix, so they do not stop start).
  std::vector<std::string> unknown_environment;
};

struct Sources
{
  // --config FILE; when empty, /etc/pourd/pourd.conf if it exists.
  std::string config_file;
  // --key=VALUE flags, key with dashes or underscores.
  std::map<std::string, std::string> flags;
  // The environment (usually from `environ`).
  std::map<std::string, std::string> environment;
};

// Every key the configuration knows, in the order of API.md.
const std::vector<std::string>& known_keys();

// Reads and validates everything. Secrets given as *_file, or as systemd
// credentials ($CREDENTIALS_DIRECTORY/admin_token, .../cron_secret), are
// read here. Throws ConfigError.
Config load(const Sources& sources);

// The process environment as a map.
std::map<std::string, std::string> environment();

// "90s", "5m", "4h", "250ms", "0" (whole numbers only); nullopt when bad.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

} // namespace pourd::config
