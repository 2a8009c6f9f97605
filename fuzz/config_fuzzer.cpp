// Arbitrary bytes as pourd.conf (config/config.cpp), and each line's value
// as a `database` URL (config/database_url.cpp): a file is accepted or
// refused with a ConfigError, a URL parsed or refused with
// std::invalid_argument, and the redacted form of a URL never shows its
// password.
#include "config/config.hpp"
#include "config/database_url.hpp"

#include <boost/url/parse.hpp>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz/fail.hpp"

using namespace pourd;

namespace {

const std::string&
config_path()
{
  static const std::string path = [] {
    std::string dir =
        (std::filesystem::temp_directory_path() / "pourd-fuzz.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr)
      fuzz::fail("cannot create a temporary directory");
    return dir + "/pourd.conf";
  }();
  return path;
}

void
check_url(std::string_view url)
{
  const std::string redacted = config::redact_database_url(url);
  orm::ConnectOptions o;
  try {
    o = config::parse_database_url(url);
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    // The message quotes the URL, redacted.
    auto parsed = boost::urls::parse_uri(url);
    if (parsed && parsed->has_password() && parsed->password().size() >= 4 &&
        message.find(parsed->encoded_password()) != std::string::npos &&
        redacted.find(parsed->encoded_password()) == std::string::npos)
      fuzz::fail("a refused URL's message shows its password: " + message);
    return;
  }
  if (o.backend != orm::Backend::mysql || o.password.empty())
    return;
  // The redacted URL is still a URL, to the same place, without the
  // password.
  orm::ConnectOptions r;
  try {
    r = config::parse_database_url(redacted);
  } catch (const std::invalid_argument& e) {
    fuzz::fail("the redacted form of a good URL is refused: " + redacted);
  }
  if (r.password != "***" || r.user != o.user || r.host != o.host ||
      r.port != o.port || r.database != o.database || r.socket != o.socket)
    fuzz::fail("redacting changed more than the password: " + redacted);
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string text(reinterpret_cast<const char*>(data), size);
  // *_file keys read the named file: the fuzzer must not open /dev/zero.
  if (text.find("_file") != std::string::npos ||
      text.find("_FILE") != std::string::npos)
    return -1;

  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (const auto eq = line.find('='); eq != std::string_view::npos)
      line.remove_prefix(eq + 1);
    while (!line.empty() && line.front() == ' ')
      line.remove_prefix(1);
    check_url(line);
    config::parse_duration(line);
    start = end + 1;
  }

  {
    std::ofstream out(config_path(), std::ios::trunc | std::ios::binary);
    out << text;
  }
  config::Sources sources;
  sources.config_file = config_path();
  config::Config c;
  try {
    c = config::load(sources);
  } catch (const config::ConfigError& e) {
    if (std::string_view(e.what()).empty())
      fuzz::fail("a refused configuration without a reason");
    return 0;
  }
  // What an accepted configuration promises (docs/api.md).
  if (c.rules.day_boundary_min < 0 || c.rules.day_boundary_min >= 24 * 60)
    fuzz::fail("day_boundary outside 00:00-23:59: " +
               std::to_string(c.rules.day_boundary_min) + " minutes");
  if (c.rules.session_timeout_ms <= 0 || c.rules.current_window_ms <= 0)
    fuzz::fail("a session timeout or window that is not positive");
  if (c.sweep_interval.count() < 0 ||
      (c.sweep_interval.count() > 0 && c.sweep_interval.count() < 1000))
    fuzz::fail("a sweep interval under 1s that is not 0");
  if (c.sweep_batch < 1 || c.sweep_batch > 100'000)
    fuzz::fail("a sweep batch outside 1-100000");
  if (!engine::valid_time_zone(c.rules.default_time_zone))
    fuzz::fail("a default time zone that is no zone");
  if (c.state_dir.empty() || c.database.empty())
    fuzz::fail("an empty state_dir or database");
  return 0;
}
