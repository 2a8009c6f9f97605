#include "engine/day_writer.hpp"

#include <algorithm>
#include <cassert>
#include <map>

namespace pourd::engine::detail {

namespace {

// What a merged session hands to its survivor besides its pours.
void
absorb(orm::Session& survivor, const orm::Session& merged)
{
  if (survivor.location.empty())
    survivor.location = merged.location;
  survivor.tags = union_sets(survivor.tags, merged.tags);
  survivor.companions = union_sets(survivor.companions, merged.companions);
}

} // namespace

std::string
id_text(const char* what, std::int64_t id)
{
  return std::string(what) + " " + std::to_string(id);
}

odb::nullable<orm::Session>
resolve_session(orm::Tx& tx, std::int64_t id)
{
  auto s = tx.find_session(id);
  for (int hops = 0; !s.null() && !s->merged_into.null() && hops < 64; ++hops)
    s = tx.find_session(*s->merged_into);
  return s;
}

DayOutcome
apply_day(orm::Tx& tx, std::vector<orm::Session>& sessions,
          const std::vector<orm::Pour*>& pours, bool insert, orm::Origin origin,
          std::int64_t now, const Settings& settings,
          const Engine::FaultInjector& fault, PendingSessions* pending)
{
  // A new pour goes in with the session it opens or joins in one write.
  assert(!insert || (pours.size() == 1 && pending == nullptr));
  std::vector<std::int64_t> times;
  times.reserve(pours.size());
  for (const orm::Pour* p : pours)
    times.push_back(p->poured_at_ms);
  const DayPlan plan = plan_day(sessions, times, settings.session_timeout_ms);

  DayOutcome out;
  std::vector<std::vector<orm::Pour*>> fresh(plan.new_groups);
  std::vector<std::vector<orm::Pour*>> joined(sessions.size());
  for (std::size_t k = 0; k < pours.size(); ++k) {
    const auto& t = plan.pour_targets[k];
    (t.existing ? joined : fresh)[t.index].push_back(pours[k]);
  }

  // New sessions; one a new pour opens is written with that pour.
  std::vector<orm::Session> created;
  // add_to_stats names each new session after its first pour.
  for (auto& group : fresh) {
    orm::Session s;
    s.user_id = group.front()->user_id;
    s.origin = static_cast<std::int32_t>(origin);
    s.local_day = group.front()->local_day;
    s.created_at_ms = now;
    for (const orm::Pour* p : group)
      add_to_stats(s, *p);
    if (pending) {
      std::vector<std::int64_t> ids;
      ids.reserve(group.size());
      for (const orm::Pour* p : group)
        ids.push_back(p->id);
      pending->sessions.push_back(std::move(s));
      pending->pour_ids.push_back(std::move(ids));
      continue;
    }
    if (!insert) {
      tx.insert(s);
      for (orm::Pour* p : group)
        p->session_id = s.id;
      out.created.push_back(s.id);
      if (fault)
        fault("session_created");
    }
    created.push_back(std::move(s));
  }

  std::vector<bool> recompute(sessions.size(), false);
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (!plan.merged_into[i])
      continue;
    orm::Session& gone = sessions[i];
    orm::Session& survivor = sessions[*plan.merged_into[i]];
    tx.move_pours(gone.id, survivor.id);
    absorb(survivor, gone);
    recompute_stats(gone, {});
    gone.merged_into = survivor.id;
    tx.update(gone);
    recompute[*plan.merged_into[i]] = true;
    out.merged.push_back(gone.id);
  }

  // Sessions the pours joined count them now; merge survivors are
  // counted anew from their rows once the pours are in.
  std::vector<const orm::Session*> changed;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    for (orm::Pour* p : joined[i])
      p->session_id = sessions[i].id;
    if (plan.touched[i] && !recompute[i]) {
      for (const orm::Pour* p : joined[i])
        add_to_stats(sessions[i], *p);
      changed.push_back(&sessions[i]);
    }
  }

  if (insert) {
    orm::Session* opened = created.empty() ? nullptr : &created.front();
    tx.insert_pour(*pours.front(), opened, changed);
    if (opened)
      out.created.push_back(opened->id);
    if (fault && opened)
      fault("session_created");
    if (fault)
      fault("pour_inserted");
  } else {
    for (const orm::Session* s : changed)
      tx.update(*s);
    std::map<std::int64_t, std::vector<std::int64_t>> by_session;
    for (const orm::Pour* p : pours)
      if (!p->session_id.null()) // null: pending a new session
        by_session[*p->session_id].push_back(p->id);
    for (const auto& [session_id, ids] : by_session)
      tx.assign_pours(session_id, ids);
  }

  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (recompute[i]) {
      recompute_stats(sessions[i], tx.pours_of_session(sessions[i].id));
      tx.update(sessions[i]);
    }
    if (plan.touched[i] || recompute[i])
      out.reused.push_back(sessions[i].id);
  }
  // The caller finds every session of the day, new ones too, as written.
  for (auto& s : created)
    sessions.push_back(std::move(s));
  return out;
}

std::vector<std::int64_t>
write_pending(orm::Tx& tx, PendingSessions& pending,
              const Engine::FaultInjector& fault)
{
  std::vector<orm::Session*> rows;
  rows.reserve(pending.sessions.size());
  for (orm::Session& s : pending.sessions)
    rows.push_back(&s);
  tx.insert_sessions(rows);
  if (fault && !rows.empty())
    fault("session_created");

  std::vector<std::pair<std::int64_t, std::int64_t>> assignments;
  std::vector<std::int64_t> ids;
  ids.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ids.push_back(rows[i]->id);
    for (std::int64_t pour : pending.pour_ids[i])
      assignments.emplace_back(pour, rows[i]->id);
  }
  tx.assign_pours(assignments);
  pending = PendingSessions{};
  return ids;
}

} // namespace pourd::engine::detail
