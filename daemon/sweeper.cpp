#include "daemon/sweeper.hpp"

#include "daemon/lease.hpp"

#include <chrono>

namespace pourd::daemon {

namespace {

// Long enough for a slow batch; renewed after every batch.
constexpr std::chrono::milliseconds k_lease_ttl{120'000};

std::int64_t
now_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

Sweeper::Sweeper(engine::Engine& engine, admin::Metrics& metrics,
                 std::string holder, std::size_t batch)
    : engine_(engine), metrics_(metrics), holder_(std::move(holder)),
      batch_(batch)
{}

admin::SweepAnswer
Sweeper::run(const std::string& trigger)
{
  std::unique_lock lock(mutex_);
  if (running_) {
    // Overlapping calls share the sweep in progress.
    const std::uint64_t seen = generation_;
    done_.wait(lock, [&] { return generation_ != seen; });
    if (last_error_)
      std::rethrow_exception(last_error_);
    return last_;
  }
  running_ = true;
  lock.unlock();

  admin::SweepAnswer answer;
  std::exception_ptr error;
  try {
    answer = sweep(trigger);
  } catch (...) {
    error = std::current_exception();
  }

  lock.lock();
  running_ = false;
  ++generation_;
  last_ = answer;
  last_error_ = error;
  lock.unlock();
  done_.notify_all();
  if (error)
    std::rethrow_exception(error);
  return answer;
}

admin::SweepAnswer
Sweeper::sweep(const std::string& trigger)
{
  admin::SweepAnswer answer;
  const auto started = std::chrono::steady_clock::now();
  // Reset once the lease is held: a SweepRun row spans the time its
  // holder had the lease, so rows of different instances never overlap.
  std::int64_t started_ms = now_ms();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - started)
        .count();
  };
  orm::Store& store = engine_.store();
  Lease lease(store, "orphan_sweep", holder_, k_lease_ttl);

  try {
    if (stopping_) {
      answer.message = "pourd is stopping; no sweep was run";
      answer.report.found = engine_.orphans().count;
      answer.report.remaining = answer.report.found;
      answer.finished_at_ms = now_ms();
      return answer;
    }

    std::string other;
    if (!lease.acquire(&other)) {
      answer.report.found = engine_.orphans().count;
      answer.report.remaining = answer.report.found;
      answer.message = "another pourd instance (" + other +
                       ") is sweeping; counts are as of now";
      answer.finished_at_ms = now_ms();
      metrics_.sweep(trigger, "skipped", answer.report.found, 0,
                     answer.report.remaining, 0);
      log_.info("orphan sweep skipped", {{"event", "orphan_sweep"},
                                         {"trigger", trigger},
                                         {"result", "skipped"},
                                         {"holder", other},
                                         {"found", answer.report.found}});
      return answer;
    }
    started_ms = now_ms();

    if (!lease.taken_over().empty())
      log_.warn("took over the sweep lease of a process that is gone",
                {{"holder", lease.taken_over()}, {"trigger", trigger}});

    engine::RecoveryOptions options;
    options.execute = true;
    options.batch = batch_.load();
    options.on_batch = [&](const engine::RecoveryReport&) {
      // Keep the lease while working; stop at a batch boundary when
      // the daemon drains or the lease was lost.
      if (!lease.renew()) {
        log_.warn("orphan sweep lost its lease", {{"trigger", trigger}});
        return false;
      }
      return !stopping_.load();
    };
    answer.report = engine_.recover(options);
  } catch (const std::exception& e) {
    const std::int64_t failed_ms = now_ms();
    lease.release();
    const auto ms = elapsed_ms();
    metrics_.sweep(trigger, "error", 0, 0, 0, static_cast<double>(ms) / 1000.0);
    if (const auto* db = dynamic_cast<const orm::DatabaseError*>(&e);
        db && db->kind() == orm::DatabaseError::Kind::unavailable)
      metrics_.database_error("unavailable");
    log_.warn("orphan sweep failed", {{"event", "orphan_sweep"},
                                      {"trigger", trigger},
                                      {"result", "error"},
                                      {"duration_ms", ms},
                                      {"error", e.what()}});
    // Best effort: the database may be the very thing that failed.
    try {
      orm::SweepRun run;
      run.trigger = trigger;
      run.holder = holder_;
      run.started_at_ms = started_ms;
      run.finished_at_ms = failed_ms;
      run.error = e.what();
      store.transact([&](orm::Tx& tx) { tx.insert(run); });
    } catch (const std::exception&) {
    }
    throw;
  }
  answer.finished_at_ms = now_ms();
  lease.release();

  const auto ms = elapsed_ms();
  const auto& r = answer.report;
  answer.message = r.found == 0       ? "no orphaned pours"
                   : r.remaining == 0 ? "every orphaned pour now has a session"
                                      : "some orphaned pours remain";

  try {
    orm::SweepRun run;
    run.trigger = trigger;
    run.holder = holder_;
    run.started_at_ms = started_ms;
    run.finished_at_ms = answer.finished_at_ms;
    run.found = r.found;
    run.fixed = r.fixed;
    run.remaining = r.remaining;
    run.sessions_created = r.sessions_created;
    store.transact([&](orm::Tx& tx) { tx.insert(run); });
  } catch (const std::exception& e) {
    log_.warn("cannot record sweep run", {{"error", e.what()}});
  }

  metrics_.sweep(trigger, "ok", r.found, r.fixed, r.remaining,
                 static_cast<double>(ms) / 1000.0);
  for (std::int64_t i = 0; i < r.sessions_created; ++i)
    metrics_.session_created("recovered");

  const logging::Fields fields = {
      {"event", "orphan_sweep"},  {"trigger", trigger},
      {"found", r.found},         {"fixed", r.fixed},
      {"remaining", r.remaining}, {"sessions_created", r.sessions_created},
      {"duration_ms", ms},        {"sessions_merged", r.sessions_merged},
      {"batches", r.batches}};
  log_.info("orphan sweep finished", fields);
  if (on_summary_)
    on_summary_("last sweep " + engine::utc_text(answer.finished_at_ms) +
                ": found=" + std::to_string(r.found) +
                " fixed=" + std::to_string(r.fixed) +
                " remaining=" + std::to_string(r.remaining));
  return answer;
}

} // namespace pourd::daemon
