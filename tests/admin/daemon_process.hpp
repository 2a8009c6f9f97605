// Runs the real pourd binary (from $POURD_BIN_DIR) on a free loopback
// port with its own state directory, and stops it when the test ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pourd::test {

inline constexpr const char* k_cron_secret = "cron-secret-for-tests";

struct DaemonOptions
{
  std::string database_url;
  // Passed as --cron-secret unless empty.
  std::string cron_secret = k_cron_secret;
  // More flags; later ones win over the defaults.
  std::vector<std::string> args;
  // Extra environment for the child.
  std::map<std::string, std::string> env;
  // Written to a file passed with --config when not empty; the file then
  // sets sweep_interval and log_level (no flags for them are passed).
  std::string config_text;
};

class Daemon
{
public:
  // Starts pourd and waits (bounded) until it listens.
  explicit Daemon(DaemonOptions options);
  ~Daemon();

  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool started() const { return port_ != 0; }
  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string config_path() const { return dir_ + "/pourd.conf"; }

  // The generated admin token from the state directory.
  std::string admin_token() const;

  // Everything the daemon wrote to stdout and stderr so far.
  std::string log() const;

  // Waits until the log contains `needle` `count` times.
  bool wait_log(const std::string& needle, std::chrono::milliseconds timeout,
                int count = 1) const;

  void signal(int sig) const;

  // The exit code, or 128+signal when killed; nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::string dir_;
  bool exited_ = false;
};

// Path of the pourd binary under test.
std::string pourd_binary();

// Runs pourd with `args` to completion (bounded); returns its exit code
// and fills `output` with stdout and stderr.
int run_pourd(const std::vector<std::string>& args, std::string& output,
              const std::map<std::string, std::string>& env = {});

// A fresh directory under the system's temporary directory.
std::string temp_dir(const std::string& prefix);

} // namespace pourd::test
