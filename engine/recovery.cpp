// Finding orphans and giving them sessions by the same plan as new pours.
#include "engine/day_writer.hpp"
#include "engine/engine.hpp"

#include <map>
#include <set>

namespace pourd::engine {

using detail::apply_day;
using detail::DayOutcome;
using detail::id_text;
using detail::PendingSessions;
using detail::write_pending;

// --------------------------------------------------------------------------
// Orphans

OrphanReport
Engine::orphans()
{
  OrphanReport report;
  store_.transact([&](orm::Tx& tx) {
    report.by_user = tx.orphan_groups();
    report.count = 0;
    for (const auto& g : report.by_user)
      report.count += g.count;
  });
  return report;
}

RecoveryReport
Engine::recover(const RecoveryOptions& options)
{
  RecoveryReport report;
  std::vector<std::int64_t> users;
  store_.transact([&](orm::Tx& tx) {
    users.clear();
    report.found = 0;
    for (const auto& g : tx.orphan_groups()) {
      if (options.user_id && g.user_id != *options.user_id)
        continue;
      users.push_back(g.user_id);
      report.found += g.count;
    }
  });
  report.users = static_cast<std::int64_t>(users.size());
  const std::size_t batch = std::max<std::size_t>(1, options.batch);

  // Groups a user's orphans by local day and applies each day's plan
  // (execute) or counts what it would do (dry run). Returns the number of
  // pours handled.
  auto fix_user = [&](orm::Tx& tx, std::int64_t user_id, std::size_t limit,
                      RecoveryReport& delta, DayOutcome& written,
                      PendingSessions& pending) -> std::size_t {
    auto pours = tx.orphans_of_user(user_id, limit);
    std::map<std::int32_t, std::vector<orm::Pour*>> days;
    for (orm::Pour& p : pours) {
      const std::int32_t day = local_day(p.poured_at_ms, p.utc_offset_min,
                                         settings_.day_boundary_min);
      if (day != p.local_day && options.execute) {
        p.local_day = day;
        tx.update(p);
      }
      p.local_day = day;
      days[day].push_back(&p);
    }
    if (days.empty())
      return 0;
    // One query for the sessions of every day the orphans fall on.
    std::map<std::int32_t, std::vector<orm::Session>> sessions_by_day;
    for (auto& s :
         tx.live_sessions(user_id, days.begin()->first, days.rbegin()->first))
      sessions_by_day[s.local_day].push_back(std::move(s));
    const std::int64_t now = clock_();
    for (auto& [day, day_pours] : days) {
      auto& sessions = sessions_by_day[day];
      if (options.execute) {
        DayOutcome o =
            apply_day(tx, sessions, day_pours, false, orm::Origin::recovered,
                      now, settings_, fault_, &pending);
        auto append = [](std::vector<std::int64_t>& to,
                         const std::vector<std::int64_t>& from) {
          to.insert(to.end(), from.begin(), from.end());
        };
        append(written.created, o.created);
        append(written.reused, o.reused);
        append(written.merged, o.merged);
      } else {
        std::vector<std::int64_t> times;
        for (const orm::Pour* p : day_pours)
          times.push_back(p->poured_at_ms);
        const DayPlan plan =
            plan_day(sessions, times, settings_.session_timeout_ms);
        delta.sessions_created += static_cast<std::int64_t>(plan.new_groups);
        for (std::size_t i = 0; i < sessions.size(); ++i) {
          delta.sessions_reused += plan.touched[i] ? 1 : 0;
          delta.sessions_merged += plan.merged_into[i] ? 1 : 0;
        }
      }
    }
    delta.fixed += static_cast<std::int64_t>(pours.size());
    return pours.size();
  };

  if (!options.execute) {
    // A dry run reads each user's orphans whole and writes nothing.
    for (std::int64_t user_id : users) {
      RecoveryReport delta;
      store_.transact([&](orm::Tx& tx) {
        delta = RecoveryReport{};
        DayOutcome unused;
        PendingSessions none;
        fix_user(tx, user_id, SIZE_MAX, delta, unused, none);
      });
      report.fixed += delta.fixed;
      report.sessions_created += delta.sessions_created;
      report.sessions_reused += delta.sessions_reused;
      report.sessions_merged += delta.sessions_merged;
    }
    report.remaining = report.found;
    return report;
  }

  // Each batch is one transaction over users in ascending id order (the
  // lock order of every writer), handling at most `batch` pours. Sessions
  // are counted once per run, as a dry run counts them: one that a batch
  // created and a later batch extended was created, not reused.
  std::set<std::int64_t> created, reused, merged;
  std::size_t next = 0;
  bool go_on = true;
  while (next < users.size() && go_on) {
    RecoveryReport delta;
    DayOutcome written;
    std::size_t next_after = next;
    store_.transact([&](orm::Tx& tx) {
      delta = RecoveryReport{};
      written = DayOutcome{};
      next_after = next;
      PendingSessions pending;
      std::size_t budget = batch;
      while (budget > 0 && next_after < users.size()) {
        const std::int64_t user_id = users[next_after];
        if (tx.lock_user(user_id).null()) {
          // Orphans of a user row that is gone cannot be grouped; they
          // stay and are counted as remaining.
          ++next_after;
          continue;
        }
        const std::size_t done =
            fix_user(tx, user_id, budget, delta, written, pending);
        if (done < budget)
          ++next_after;
        budget -= done;
      }
      // The batch's new sessions: one INSERT and one UPDATE of their pours.
      const auto ids = write_pending(tx, pending, fault_);
      written.created.insert(written.created.end(), ids.begin(), ids.end());
    });
    next = next_after;
    if (delta.fixed == 0)
      continue; // the last user's orphans ended exactly at a batch edge
    created.insert(written.created.begin(), written.created.end());
    for (std::int64_t id : written.reused)
      if (!created.count(id))
        reused.insert(id);
    for (std::int64_t id : written.merged) {
      if (created.erase(id) == 0)
        merged.insert(id);
      reused.erase(id);
    }
    report.fixed += delta.fixed;
    report.sessions_created = static_cast<std::int64_t>(created.size());
    report.sessions_reused = static_cast<std::int64_t>(reused.size());
    report.sessions_merged = static_cast<std::int64_t>(merged.size());
    ++report.batches;
    if (options.on_batch)
      go_on = options.on_batch(report);
  }

  store_.transact([&](orm::Tx& tx) {
    report.remaining = 0;
    for (const auto& g : tx.orphan_groups())
      if (!options.user_id || g.user_id == *options.user_id)
        report.remaining += g.count;
  });
  return report;
}

} // namespace pourd::engine
