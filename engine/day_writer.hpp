// Writing one local day's pours into that day's sessions: the part of
// pour creation and orphan recovery that changes rows. Internal to engine/.
#pragma once

#include "engine/engine.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pourd::engine::detail {

// "user 7", "session 12": how messages name a row.
std::string id_text(const char* what, std::int64_t id);

// Follows merge links to the session that holds the pours now.
odb::nullable<orm::Session> resolve_session(orm::Tx& tx, std::int64_t id);

// Ids of the sessions a write created, added pours to, or merged away.
struct DayOutcome
{
  std::vector<std::int64_t> created;
  std::vector<std::int64_t> reused;
  std::vector<std::int64_t> merged;
};

// Sessions a recovery batch creates, with the existing pours each takes:
// written together when the batch ends, in a few statements instead of two
// per session.
struct PendingSessions
{
  std::vector<orm::Session> sessions;
  std::vector<std::vector<std::int64_t>> pour_ids;
};

// Puts `pours` (all of one user and one local day) into that day's
// `sessions` by the rules, creating and merging sessions as plan_day says.
// A new pour (`insert`, one at a time) is inserted together with the
// session it opens or joins; existing ones are reassigned. On return
// `sessions` holds every session of the day as written, the new ones
// appended.
//
// With `pending` (existing pours only), new sessions and their pours go
// there instead, for write_pending, and are neither written nor appended.
DayOutcome apply_day(orm::Tx& tx, std::vector<orm::Session>& sessions,
                     const std::vector<orm::Pour*>& pours, bool insert,
                     orm::Origin origin, std::int64_t now,
                     const Settings& settings,
                     const Engine::FaultInjector& fault,
                     PendingSessions* pending = nullptr);

// Inserts the pending sessions, puts their pours in them and returns their
// ids; `pending` is empty afterwards.
std::vector<std::int64_t> write_pending(orm::Tx& tx, PendingSessions& pending,
                                        const Engine::FaultInjector& fault);

} // namespace pourd::engine::detail
