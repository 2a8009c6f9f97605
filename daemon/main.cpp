// pourd: parses the command line and configuration, then runs the daemon.
#include "admin/logging.hpp"
#include "config/config.hpp"
#include "daemon/app.hpp"
#include "daemon/flags.hpp"

#include <cstdio>
#include <exception>
#include <iostream>

#ifndef POURD_VERSION
#define POURD_VERSION "unknown"
#endif

int
main(int argc, char** argv)
{
  using namespace pourd;

  daemon::Invocation invocation;
  config::Config config;
  try {
    invocation = daemon::parse_flags(argc, argv);
    if (invocation.help) {
      std::cout << daemon::usage("pourd");
      return daemon::k_exit_ok;
    }
    if (invocation.version) {
      std::cout << "pourd " << POURD_VERSION << "\n";
      return daemon::k_exit_ok;
    }
    invocation.sources.environment = config::environment();
    config = config::load(invocation.sources);
    logging::setup(config.log_format, config.log_level);
  } catch (const std::exception& e) {
    std::cerr << "pourd: " << e.what() << "\n";
    return daemon::k_exit_config;
  }

  try {
    return daemon::run(config, invocation.sources);
  } catch (const std::exception& e) {
    logging::Log("daemon").error("fatal error", {{"error", e.what()}});
    return daemon::k_exit_failure;
  }
}
