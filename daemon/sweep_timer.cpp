#include "daemon/sweep_timer.hpp"

#include "daemon/sweeper.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <random>

namespace pourd::daemon {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// The first sweep waits at most this long after start.
constexpr milliseconds k_first_delay{5'000};
constexpr milliseconds k_first_backoff{10'000};
constexpr milliseconds k_max_backoff{600'000};

// `base` scaled by a random factor in [1 - spread, 1 + spread], so that
// instances started together do not sweep in lockstep.
milliseconds
jittered(milliseconds base, double spread)
{
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> d(1.0 - spread, 1.0 + spread);
  return milliseconds(
      static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng)));
}

} // namespace

struct SweepTimer::Impl : std::enable_shared_from_this<SweepTimer::Impl>
{
  Impl(asio::io_context& io_, asio::thread_pool& pool_, Sweeper& sweeper_)
      : io(io_), pool(pool_), sweeper(sweeper_), timer(io_)
  {}

  asio::io_context& io;
  asio::thread_pool& pool;
  Sweeper& sweeper;
  asio::steady_timer timer;
  milliseconds interval{0};
  bool running = false; // a sweep is on the pool
  bool stopped = false;
  int failures = 0;
  std::uint64_t epoch = 0; // bumped by every reschedule

  void schedule(milliseconds delay)
  {
    const std::uint64_t mine = ++epoch;
    timer.expires_after(delay);
    timer.async_wait(
        [self = shared_from_this(), mine](const boost::system::error_code& ec) {
          if (ec || self->stopped || mine != self->epoch)
            return;
          self->fire();
        });
  }

  void fire()
  {
    if (running)
      return;
    running = true;
    asio::post(pool, [self = shared_from_this()] {
      bool ok = true;
      try {
        self->sweeper.run("timer");
      } catch (const std::exception&) {
        // The sweeper logged it and counted it.
        ok = false;
      }
      asio::post(self->io, [self, ok] { self->finished(ok); });
    });
  }

  void finished(bool ok)
  {
    running = false;
    if (stopped || interval.count() == 0)
      return;
    if (ok) {
      failures = 0;
      schedule(jittered(interval, 0.1));
      return;
    }
    // Back off on database trouble, but never wait longer than the
    // regular interval would (unless that is shorter than the first step).
    ++failures;
    milliseconds backoff = k_first_backoff;
    for (int i = 1; i < failures && backoff < k_max_backoff; ++i)
      backoff *= 2;
    backoff =
        std::min({backoff, k_max_backoff, std::max(interval, k_first_backoff)});
    schedule(jittered(backoff, 0.2));
  }
};

SweepTimer::SweepTimer(asio::io_context& io, asio::thread_pool& pool,
                       Sweeper& sweeper)
    : impl_(std::make_shared<Impl>(io, pool, sweeper))
{}

SweepTimer::~SweepTimer()
{
  stop();
}

void
SweepTimer::set_interval(milliseconds interval)
{
  auto& impl = *impl_;
  if (impl.stopped)
    return;
  const bool first = impl.interval.count() == 0;
  impl.interval = interval;
  if (interval.count() == 0) {
    ++impl.epoch;
    impl.timer.cancel();
    return;
  }
  if (impl.running)
    return; // finished() schedules with the new interval
  const milliseconds delay =
      first ? std::min(interval, k_first_delay) : interval;
  impl.schedule(jittered(delay, first ? 0.5 : 0.1));
}

void
SweepTimer::stop()
{
  impl_->stopped = true;
  ++impl_->epoch;
  impl_->timer.cancel();
}

} // namespace pourd::daemon
