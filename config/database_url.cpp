#include "config/database_url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <charconv>
#include <stdexcept>

namespace pourd::config {

namespace {

constexpr std::string_view k_sqlite = "sqlite://";

[[noreturn]] void
bad(std::string_view url, const std::string& why)
{
  throw std::invalid_argument("database URL '" + redact_database_url(url) +
                              "': " + why);
}

} // namespace

orm::ConnectOptions
parse_database_url(std::string_view url)
{
  orm::ConnectOptions o;
  if (url.starts_with(k_sqlite)) {
    o.backend = orm::Backend::sqlite;
    o.path = std::string(url.substr(k_sqlite.size()));
    if (o.path.empty())
      bad(url, "names no file; write sqlite://PATH");
    return o;
  }
  if (!url.starts_with("mysql://"))
    bad(url, "must start with sqlite:// or mysql://");

  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    bad(url, "is not a valid URL: " + parsed.error().message());
  const boost::urls::url_view& u = *parsed;

  o.backend = orm::Backend::mysql;
  o.user = u.user();
  o.password = u.password();
  o.host = u.host();
  if (o.user.empty())
    bad(url, "names no user; write mysql://USER[:PASS]@HOST[:PORT]/DB");
  if (o.host.empty())
    o.host = "127.0.0.1";
  if (u.has_port()) {
    std::string_view p = u.port();
    unsigned port = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc{} || end != p.data() + p.size() || port == 0 ||
        port > 65535)
      bad(url, "has a bad port '" + std::string(p) + "'");
    o.port = port;
  }
  std::string path = u.path();
  if (path.size() < 2 || path.find('/', 1) != std::string::npos)
    bad(url, "must name exactly one database after the host: /DB");
  o.database = path.substr(1);
  for (auto param : u.params()) {
    if (param.key == "socket")
      o.socket = param.value;
    else
      bad(url, "has an unknown parameter '" + std::string(param.key) + "'");
  }
  return o;
}

std::string
redact_database_url(std::string_view url)
{
  auto parsed = boost::urls::parse_uri(url);
  if (parsed) {
    if (!parsed->has_password())
      return std::string(url);
    boost::urls::url copy = *parsed;
    copy.set_password("***");
    return std::string(copy.buffer());
  }
  // Not a URL, yet it may hold a password: hide everything between the
  // first ':' after the scheme and the last '@'.
  const auto scheme = url.find("://");
  const auto at = url.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos ||
      at < scheme + 3)
    return std::string(url);
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at)
    return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" +
         std::string(url.substr(at));
}

} // namespace pourd::config
