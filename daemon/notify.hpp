// systemd's notification protocol (sd_notify); every call does nothing
// when the daemon does not run under a notify-type service.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pourd::daemon {

void notify_ready();
void notify_stopping();
void notify_reloading();
void notify_status(const std::string& status);
void notify_watchdog();

// How often to ping the watchdog (half its timeout), when one is set.
std::optional<std::chrono::microseconds> watchdog_interval();

} // namespace pourd::daemon
