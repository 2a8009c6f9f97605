// Orphan sweeps: one at a time in this process, one at a time in the
// cluster (through the "orphan_sweep" lease), each logged as one summary
// line, recorded as a SweepRun row and counted in the metrics.
//
// Thread-safe: run() may be called from any thread; a call that arrives
// while a sweep runs waits for that sweep and returns its outcome.
#pragma once

#include "admin/api.hpp"
#include "admin/logging.hpp"
#include "admin/metrics.hpp"
#include "engine/engine.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>

namespace pourd::daemon {

class Sweeper
{
public:
  Sweeper(engine::Engine& engine, admin::Metrics& metrics, std::string holder,
          std::size_t batch);

  // Sweeps now (trigger "timer" or "cron"), or waits for the sweep in
  // progress. Blocks. Throws orm::DatabaseError when the sweep failed.
  admin::SweepAnswer run(const std::string& trigger);

  void set_batch(std::size_t batch) { batch_ = batch; }

  // A running sweep stops after its current batch; later runs do nothing.
  void stop() { stopping_ = true; }

  // Called with each sweep's summary line (for the service status).
  void on_summary(std::function<void(const std::string&)> fn)
  {
    on_summary_ = std::move(fn);
  }

private:
  admin::SweepAnswer sweep(const std::string& trigger);

  engine::Engine& engine_;
  admin::Metrics& metrics_;
  std::string holder_;
  std::atomic<std::size_t> batch_;
  std::atomic<bool> stopping_{false};
  std::function<void(const std::string&)> on_summary_;
  logging::Log log_{"sweep"};

  // Single flight: guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable done_;
  bool running_ = false;
  std::uint64_t generation_ = 0;
  admin::SweepAnswer last_;
  std::exception_ptr last_error_;
};

} // namespace pourd::daemon
