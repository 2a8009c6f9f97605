// What every pourctl command works with: the loaded configuration, and
// the store and engine, opened only when a command first asks for them
// (so `--help` and bad flags never touch the database).
#pragma once

#include "config/config.hpp"
#include "engine/engine.hpp"
#include "orm/store.hpp"

#include <memory>
#include <stdexcept>
#include <string>

namespace pourd::cli {

// Exit statuses, as API.md fixes them.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_problem = 1;     // a check found something
inline constexpr int k_exit_usage = 2;       // usage or configuration
inline constexpr int k_exit_unavailable = 3; // database unreachable

// A wrong argument found after parsing (unknown user, bad value).
class UsageError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

class Context
{
public:
  explicit Context(config::Config config);
  ~Context();

  const config::Config& config() const { return config_; }

  // Opens the database; unless `any_schema`, refuses one whose schema is
  // missing or not current (telling the operator to migrate).
  orm::Store& store(bool any_schema = false);

  engine::Engine& engine();

private:
  config::Config config_;
  std::unique_ptr<orm::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
  bool schema_checked_ = false;
};

} // namespace pourd::cli
