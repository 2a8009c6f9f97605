// The daemon's command line: --config FILE, --KEY=VALUE for every
// configuration key, --help and --version.
#pragma once

#include "config/config.hpp"

#include <string>

namespace pourd::daemon {

struct Invocation
{
  config::Sources sources;
  bool help = false;
  bool version = false;
};

// Throws config::ConfigError for a malformed argument.
Invocation parse_flags(int argc, char** argv);

// The text --help prints.
std::string usage(const std::string& program);

} // namespace pourd::daemon
