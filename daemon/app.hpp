// The running daemon: store, engine, admin server, sweeps, signals and
// systemd notifications, from start to a clean stop.
#pragma once

#include "config/config.hpp"

#include <memory>

namespace pourd::daemon {

// Exit codes, as pourctl uses them.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1;
inline constexpr int k_exit_config = 2;
inline constexpr int k_exit_database = 3;

// Runs until SIGTERM or SIGINT; returns the process exit code. `sources`
// is kept to reload the configuration on SIGHUP.
int run(const config::Config& config, const config::Sources& sources);

} // namespace pourd::daemon
