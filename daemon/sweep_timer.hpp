// The sweep timer: first run soon after start, then every interval with
// jitter, backing off after failures. Sweeps run on the database pool.
//
// Threading: all calls on the `io` thread.
#pragma once

#include <chrono>
#include <memory>

namespace boost::asio {
class io_context;
class thread_pool;
} // namespace boost::asio

namespace pourd::daemon {

class Sweeper;

class SweepTimer
{
public:
  SweepTimer(boost::asio::io_context& io, boost::asio::thread_pool& pool,
             Sweeper& sweeper);
  ~SweepTimer();

  // Starts, restarts or (with 0) turns off the timer.
  void set_interval(std::chrono::milliseconds interval);

  // No further sweeps start; one in progress finishes on the pool.
  void stop();

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

} // namespace pourd::daemon
