#include "daemon/flags.hpp"

#include <algorithm>

namespace pourd::daemon {

Invocation
parse_flags(int argc, char** argv)
{
  Invocation out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg == "--version") {
      out.version = true;
      continue;
    }
    if (!arg.starts_with("--") || arg.size() == 2)
      throw config::ConfigError("unexpected argument '" + arg +
                                "'; see --help");

    std::string key = arg.substr(2);
    std::string value;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw config::ConfigError("option '--" + key + "' needs a value");
    }

    if (key == "config") {
      if (value.empty())
        throw config::ConfigError("option '--config' needs a file name");
      out.sources.config_file = value;
    } else {
      // config::load names unknown keys; it knows the list.
      out.sources.flags[key] = value;
    }
  }
  return out;
}

std::string
usage(const std::string& program)
{
  std::string text =
      "Usage: " + program +
      " [--config FILE] [--KEY=VALUE]...\n"
      "\n"
      "pourd keeps every logged pour in a drinking session: it serves the\n"
      "admin HTTP API and sweeps orphaned pours into sessions.\n"
      "\n"
      "Options:\n"
      "  --config FILE   configuration file (default /etc/pourd/pourd.conf\n"
      "                  when it exists)\n"
      "  --help          show this text\n"
      "  --version       show the version\n"
      "\n"
      "Every configuration key is also a flag, and an environment variable\n"
      "POURD_<KEY>; a flag beats the environment, which beats the file:\n";
  for (const auto& key : config::known_keys()) {
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    text += "  --" + flag + "=VALUE\n";
  }
  text += "\nSignals: SIGTERM or SIGINT drain and stop; SIGHUP reloads the\n"
          "configuration file (log level, sweep settings, secrets).\n";
  return text;
}

} // namespace pourd::daemon
