#include "config/config.hpp"

#include "config/database_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace pourd::config {

namespace {

constexpr const char* k_default_file = "/etc/pourd/pourd.conf";

// A value and where it came from, for error messages.
struct Value
{
  std::string text;
  std::string origin;
};

std::string
trim(std::string_view s)
{
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && space(s.back()))
    s.remove_suffix(1);
  return std::string(s);
}

std::string
normalize_key(std::string key)
{
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

bool
is_known(const std::string& key)
{
  const auto& keys = known_keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

[[noreturn]] void
fail(const std::string& key, const Value& v, const std::string& why)
{
  throw ConfigError("configuration key '" + key + "' (" + v.origin +
                    "): " + why);
}

void
read_file(const std::string& path, bool must_exist,
          std::map<std::string, Value>& values)
{
  std::ifstream in(path);
  if (!in) {
    if (must_exist)
      throw ConfigError("cannot read configuration file '" + path + "'");
    return;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    const std::string text = trim(line);
    if (text.empty() || text.front() == '#')
      continue;
    const auto eq = text.find('=');
    if (eq == std::string::npos)
      throw ConfigError(where + ": expected 'key = value', got '" + text + "'");
    const std::string key = normalize_key(trim(text.substr(0, eq)));
    if (!is_known(key))
      throw ConfigError(where + ": unknown configuration key '" + key + "'");
    std::string value = trim(text.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    values[key] = {value, where};
  }
}

std::string
read_secret(const std::string& path, const std::string& key)
{
  std::ifstream in(path);
  if (!in)
    throw ConfigError("configuration key '" + key + "': cannot read '" + path +
                      "'");
  std::stringstream buf;
  buf << in.rdbuf();
  std::string secret = buf.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                             secret.back() == ' '))
    secret.pop_back();
  if (secret.empty())
    throw ConfigError("configuration key '" + key + "': '" + path +
                      "' is empty");
  return secret;
}

std::int32_t
parse_clock(const std::string& key, const Value& v)
{
  // Exactly HH:MM in digits; from_chars alone would accept a sign.
  const std::string& s = v.text;
  const auto digit = [&s](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() != 5 || s[2] != ':' || !digit(0) || !digit(1) || !digit(3) ||
      !digit(4))
    fail(key, v, "expected a local time HH:MM, got '" + s + "'");
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59)
    fail(key, v, "expected a local time HH:MM, got '" + s + "'");
  return h * 60 + m;
}

std::chrono::milliseconds
duration_value(const std::string& key, const Value& v, bool allow_zero)
{
  const auto d = parse_duration(v.text);
  if (!d)
    fail(key, v,
         "expected a duration like 90s, 5m or 4h, got '" + v.text + "'");
  if (!allow_zero && d->count() == 0)
    fail(key, v, "must be longer than 0");
  return *d;
}

} // namespace

const std::vector<std::string>&
known_keys()
{
  static const std::vector<std::string> keys = {
      "database",         "state_dir",         "listen",
      "max_connections",  "idle_timeout",      "request_timeout",
      "admin_token",      "admin_token_file",  "cron_secret",
      "cron_secret_file", "session_timeout",   "current_window",
      "day_boundary",     "default_time_zone", "sweep_interval",
      "sweep_batch",      "log_format",        "log_level"};
  return keys;
}

std::map<std::string, std::string>
environment()
{
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    if (eq != std::string::npos)
      out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

std::optional<std::chrono::milliseconds>
parse_duration(std::string_view s)
{
  if (s == "0")
    return std::chrono::milliseconds{0};
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end == s.data() || n < 0)
    return std::nullopt;
  const std::string_view unit(end, s.data() + s.size() - end);
  std::int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else
    return std::nullopt;
  if (n > INT64_MAX / scale)
    return std::nullopt;
  return std::chrono::milliseconds{n * scale};
}

Config
load(const Sources& sources)
{
  std::map<std::string, Value> values;

  // The file, then the environment, then flags: later ones win.
  Config c;
  if (!sources.config_file.empty()) {
    read_file(sources.config_file, true, values);
    c.config_file = sources.config_file;
  } else if (std::filesystem::exists(k_default_file)) {
    read_file(k_default_file, true, values);
    c.config_file = k_default_file;
  }

  const auto& env = sources.environment;
  if (auto it = env.find("CRON_SECRET"); it != env.end())
    values["cron_secret"] = {it->second, "environment CRON_SECRET"};
  for (const auto& [name, value] : env) {
    if (!name.starts_with("POURD_"))
      continue;
    std::string key = name.substr(6);
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char ch) {
      return static_cast<char>(std::tolower(ch));
    });
    if (is_known(key))
      values[key] = {value, "environment " + name};
    else
      c.unknown_environment.push_back(name);
  }

  for (const auto& [flag, value] : sources.flags) {
    const std::string key = normalize_key(flag);
    if (!is_known(key))
      throw ConfigError("unknown option '--" + flag + "'");
    values[key] = {value, "flag --" + flag};
  }

  auto get = [&](const char* key) -> const Value* {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  };

  if (const Value* v = get("state_dir")) {
    if (v->text.empty())
      fail("state_dir", *v, "must not be empty");
    c.state_dir = v->text;
  } else if (auto it = env.find("STATE_DIRECTORY"); it != env.end()) {
    // systemd may pass several directories separated by colons.
    c.state_dir = it->second.substr(0, it->second.find(':'));
  }

  if (const Value* v = get("database"))
    c.database = v->text;
  else
    c.database = "sqlite://" + c.state_dir + "/pourd.db";
  try {
    c.connect = parse_database_url(c.database);
  } catch (const std::invalid_argument& e) {
    fail("database",
         get("database") ? *get("database") : Value{c.database, "default"},
         e.what());
  }

  if (const Value* v = get("listen")) {
    const auto colon = v->text.rfind(':');
    unsigned port = 0;
    const std::string p =
        colon == std::string::npos ? "" : v->text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (colon == std::string::npos || colon == 0 || ec != std::errc{} ||
        end != p.data() + p.size() || port > 65535)
      fail("listen", *v, "expected HOST:PORT, got '" + v->text + "'");
    c.listen_host = v->text.substr(0, colon);
    if (c.listen_host.size() > 2 && c.listen_host.front() == '[' &&
        c.listen_host.back() == ']')
      c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
    in6_addr address;
    if (inet_pton(AF_INET, c.listen_host.c_str(), &address) != 1 &&
        inet_pton(AF_INET6, c.listen_host.c_str(), &address) != 1)
      fail("listen", *v,
           "expected an IP address and port like 127.0.0.1:8787 or "
           "[::1]:8787, got '" +
               v->text + "'");
    c.listen_port = static_cast<unsigned short>(port);
  }

  if (const Value* v = get("max_connections")) {
    std::size_t n = 0;
    const auto [end, ec] =
        std::from_chars(v->text.data(), v->text.data() + v->text.size(), n);
    if (ec != std::errc{} || end != v->text.data() + v->text.size() || n == 0 ||
        n > 1'000'000)
      fail("max_connections", *v,
           "expected a whole number from 1 to 1000000, got '" + v->text + "'");
    c.max_connections = n;
  }
  if (const Value* v = get("idle_timeout"))
    c.idle_timeout = duration_value("idle_timeout", *v, false);
  if (const Value* v = get("request_timeout"))
    c.request_timeout = duration_value("request_timeout", *v, false);

  // Secrets: a value, else a file, else a systemd credential.
  const std::string credentials =
      env.count("CREDENTIALS_DIRECTORY") ? env.at("CREDENTIALS_DIRECTORY") : "";
  auto secret = [&](const char* key, std::string& out, std::string& out_file) {
    const std::string file_key = std::string(key) + "_file";
    if (const Value* v = get(key)) {
      if (v->text.empty())
        fail(key, *v, "must not be empty");
      out = v->text;
    } else if (const Value* f = get(file_key.c_str())) {
      out = read_secret(f->text, file_key);
      out_file = f->text;
    } else if (!credentials.empty() &&
               std::filesystem::exists(credentials + "/" + key)) {
      out_file = credentials + "/" + key;
      out = read_secret(out_file, key);
    }
  };
  secret("admin_token", c.admin_token, c.admin_token_file);
  secret("cron_secret", c.cron_secret, c.cron_secret_file);

  if (const Value* v = get("session_timeout"))
    c.rules.session_timeout_ms =
        duration_value("session_timeout", *v, false).count();
  if (const Value* v = get("current_window"))
    c.rules.current_window_ms =
        duration_value("current_window", *v, false).count();
  if (const Value* v = get("day_boundary"))
    c.rules.day_boundary_min = parse_clock("day_boundary", *v);
  if (const Value* v = get("default_time_zone")) {
    if (!engine::valid_time_zone(v->text))
      fail("default_time_zone", *v,
           "'" + v->text + "' is not an IANA time zone");
    c.rules.default_time_zone = v->text;
  }
  if (const Value* v = get("sweep_interval")) {
    c.sweep_interval = duration_value("sweep_interval", *v, true);
    if (c.sweep_interval.count() != 0 && c.sweep_interval.count() < 1000)
      fail("sweep_interval", *v, "must be 0 (off) or at least 1s");
  }
  if (const Value* v = get("sweep_batch")) {
    std::size_t n = 0;
    const auto [end, ec] =
        std::from_chars(v->text.data(), v->text.data() + v->text.size(), n);
    if (ec != std::errc{} || end != v->text.data() + v->text.size() || n == 0 ||
        n > 100'000)
      fail("sweep_batch", *v,
           "expected a whole number from 1 to 100000, got '" + v->text + "'");
    c.sweep_batch = n;
  }
  if (const Value* v = get("log_format")) {
    if (v->text == "text")
      c.log_format = LogFormat::text;
    else if (v->text == "logfmt")
      c.log_format = LogFormat::logfmt;
    else
      fail("log_format", *v, "expected text or logfmt, got '" + v->text + "'");
  }
  if (const Value* v = get("log_level")) {
    static const std::vector<std::string> levels = {
        "trace", "debug", "info", "warn", "error", "critical", "off"};
    if (std::find(levels.begin(), levels.end(), v->text) == levels.end())
      fail("log_level", *v,
           "expected trace, debug, info, warn, error, critical or off, got '" +
               v->text + "'");
    c.log_level = v->text;
  }
  return c;
}

} // namespace pourd::config
