// The invariant check: every breach of the session rules, with a reason.
#include "engine/day_writer.hpp"
#include "engine/engine.hpp"

#include <map>
#include <set>

namespace pourd::engine {

using detail::id_text;

// --------------------------------------------------------------------------
// Invariant check

std::vector<Violation>
Engine::check(std::optional<std::int64_t> user_id)
{
  std::vector<Violation> out;
  const std::int64_t timeout = settings_.session_timeout_ms;
  store_.transact([&](orm::Tx& tx) {
    out.clear();
    std::vector<std::int64_t> ids;
    if (user_id)
      ids.push_back(*user_id);
    else
      for (const auto& u : tx.users())
        ids.push_back(u.id);

    for (std::int64_t uid : ids) {
      const auto pours = tx.pours_of_user(uid); // time order
      std::map<std::int64_t, orm::Session> sessions;
      for (auto& s : tx.all_sessions(uid))
        sessions.emplace(s.id, s);
      std::map<std::int64_t, std::vector<orm::Pour>> by_session;

      auto flag = [&](const orm::Pour& p, std::string reason) {
        out.push_back({uid, p.id, p.session_id.null() ? 0 : *p.session_id,
                       std::move(reason)});
      };

      for (const orm::Pour& p : pours) {
        if (p.session_id.null()) {
          flag(p, "orphan: the pour has no session");
          continue;
        }
        auto it = sessions.find(*p.session_id);
        if (it == sessions.end()) {
          flag(p, id_text("session", *p.session_id) + " does not exist");
          continue;
        }
        const orm::Session& s = it->second;
        if (!s.merged_into.null())
          flag(p, id_text("session", s.id) + " was merged into " +
                      std::to_string(*s.merged_into) +
                      " but still holds the pour");
        if (s.user_id != p.user_id)
          flag(p, id_text("session", s.id) + " belongs to another user");
        if (s.local_day != p.local_day)
          flag(p, "the pour is on local day " + day_text(p.local_day) +
                      " but its session is on " + day_text(s.local_day));
        by_session[s.id].push_back(p);
      }

      // Consecutive automatically grouped pours share a session exactly
      // when they are at most T apart on the same local day.
      const orm::Pour* prev = nullptr;
      for (const orm::Pour& p : pours) {
        if (!p.auto_grouped || p.session_id.null())
          continue;
        if (prev) {
          const bool close = p.poured_at_ms - prev->poured_at_ms <= timeout &&
                             p.local_day == prev->local_day;
          const bool same = *p.session_id == *prev->session_id;
          if (close && !same)
            flag(p, "within the session timeout of pour " +
                        std::to_string(prev->id) +
                        " on the same local day, but in another session");
          if (!close && same)
            flag(p, "in the same session as pour " + std::to_string(prev->id) +
                        " though more than the session timeout apart or "
                        "on another local day");
        }
        prev = &p;
      }

      // Statistics equal what the pours add up to.
      for (auto& [sid, s] : sessions) {
        if (!s.merged_into.null())
          continue;
        orm::Session expect = s;
        recompute_stats(expect, by_session[sid]);
        // A copy: lambdas cannot capture structured bindings before
        // clang 16, and the fuzzing build uses clang 14.
        const std::int64_t session_id = sid;
        auto mismatch = [&](const char* what, std::int64_t stored,
                            std::int64_t actual) {
          if (stored != actual)
            out.push_back({uid, 0, session_id,
                           std::string("statistics differ: ") + what + " is " +
                               std::to_string(stored) + ", its pours give " +
                               std::to_string(actual)});
        };
        mismatch("pour_count", s.pour_count, expect.pour_count);
        mismatch("total_amount_coz", s.total_amount_coz,
                 expect.total_amount_coz);
        mismatch("total_cost_minor", s.total_cost_minor,
                 expect.total_cost_minor);
        mismatch("rating_sum_tenths", s.rating_sum_tenths,
                 expect.rating_sum_tenths);
        mismatch("rated_count", s.rated_count, expect.rated_count);
        mismatch("first_pour_ms",
                 s.first_pour_ms.null() ? -1 : *s.first_pour_ms,
                 expect.first_pour_ms.null() ? -1 : *expect.first_pour_ms);
        mismatch("last_pour_ms", s.last_pour_ms.null() ? -1 : *s.last_pour_ms,
                 expect.last_pour_ms.null() ? -1 : *expect.last_pour_ms);
        mismatch("auto_first_ms",
                 s.auto_first_ms.null() ? -1 : *s.auto_first_ms,
                 expect.auto_first_ms.null() ? -1 : *expect.auto_first_ms);
        mismatch("auto_last_ms", s.auto_last_ms.null() ? -1 : *s.auto_last_ms,
                 expect.auto_last_ms.null() ? -1 : *expect.auto_last_ms);
        if (s.tags != expect.tags || s.companions != expect.companions)
          out.push_back({uid, 0, sid,
                         "statistics differ: tags or companions miss some "
                         "of the pours'"});
      }
    }
  });
  return out;
}

} // namespace pourd::engine
