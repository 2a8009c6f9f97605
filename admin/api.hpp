// What the admin handlers work with: the engine, the store, the metrics,
// the current secrets and a way to run a sweep now.
#pragma once

#include "engine/engine.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace pourd::admin {

class Metrics;

struct Secrets
{
  std::string admin_token;
  std::string cron_secret; // empty: the cron route answers 503
};

// The secrets in force; SIGHUP may replace them while requests run.
// Thread-safe.
class SecretBox
{
public:
  explicit SecretBox(Secrets secrets) : secrets_(std::move(secrets)) {}

  Secrets get() const
  {
    std::lock_guard lock(mutex_);
    return secrets_;
  }

  void set(Secrets secrets)
  {
    std::lock_guard lock(mutex_);
    secrets_ = std::move(secrets);
  }

private:
  mutable std::mutex mutex_;
  Secrets secrets_;
};

// The outcome of the sweep a cron call ran or waited for.
struct SweepAnswer
{
  engine::RecoveryReport report;
  std::string message;
  std::int64_t finished_at_ms = 0;
};

// Runs a sweep now, or waits for the one in progress, and returns its
// outcome. Blocks; throws orm::DatabaseError when the sweep failed.
using SweepNow = std::function<SweepAnswer()>;

struct ApiContext
{
  engine::Engine& engine;
  orm::Store& store;
  Metrics& metrics;
  SecretBox& secrets;
  SweepNow sweep_now;
};

} // namespace pourd::admin
