#include "engine/engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace pourd::engine {

namespace {

constexpr std::size_t k_max_notes = 1000;
constexpr std::size_t k_max_name = 255;
constexpr std::size_t k_max_key = 255;
constexpr double k_max_price = 1'000'000;
constexpr std::int32_t k_min_offset = -12 * 60;
constexpr std::int32_t k_max_offset = 14 * 60;

std::int64_t
system_now()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string
summary(const std::vector<FieldError>& errors)
{
  std::string out = "invalid input";
  for (std::size_t i = 0; i < errors.size(); ++i)
    out += (i == 0 ? ": " : "; ") + errors[i].field + " " + errors[i].message;
  return out;
}

std::string
id_text(const char* what, std::int64_t id)
{
  return std::string(what) + " " + std::to_string(id);
}

// Whole multiples of 1/scale, as integers; false when `v` has more
// precision than that.
bool
scaled(double v, int scale, std::int64_t& out)
{
  const double s = v * scale;
  const double r = std::round(s);
  if (std::fabs(s - r) > 1e-6 * std::max(1.0, std::fabs(s)))
    return false;
  out = static_cast<std::int64_t>(r);
  return true;
}

void
check_text(const std::string& text, const std::string& field, std::size_t max,
           bool required, std::vector<FieldError>& errors)
{
  const auto length = utf8_length(text);
  if (!length)
    errors.push_back({field, "must be valid UTF-8"});
  else if (required && *length == 0)
    errors.push_back({field, "must not be empty"});
  else if (*length > max)
    errors.push_back(
        {field, "must be at most " + std::to_string(max) + " characters"});
}

// Stable across processes and versions: FNV-1a over a canonical text.
std::string
request_hash(const NewPour& in)
{
  std::ostringstream text;
  text.precision(17);
  text << in.user_id << '|' << in.bottle_id << '|' << in.amount_oz << '|';
  if (in.poured_at) {
    text << in.poured_at->utc_ms;
    if (in.poured_at->offset_min)
      text << '@' << *in.poured_at->offset_min;
  }
  text << '|' << (in.rating ? std::to_string(*in.rating) : "-") << '|'
       << in.notes.size() << ':' << in.notes << '|' << in.location.value_or("-")
       << '|';
  for (const auto& t : in.tags)
    text << t.size() << ':' << t;
  text << '|';
  for (const auto& c : in.companions)
    text << c.size() << ':' << c;
  text << '|' << (in.session_id ? std::to_string(*in.session_id) : "-");

  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text.str()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Follows merge links to the session that holds the pours now.
odb::nullable<orm::Session>
resolve_session(orm::Tx& tx, std::int64_t id)
{
  auto s = tx.find_session(id);
  for (int hops = 0; !s.null() && !s->merged_into.null() && hops < 64; ++hops)
    s = tx.find_session(*s->merged_into);
  return s;
}

// What a merged session hands to its survivor besides its pours.
void
absorb(orm::Session& survivor, const orm::Session& merged)
{
  if (survivor.location.empty())
    survivor.location = merged.location;
  survivor.tags = union_sets(survivor.tags, merged.tags);
  survivor.companions = union_sets(survivor.companions, merged.companions);
}

// Ids of the sessions a write created, added pours to, or merged away.
struct DayOutcome
{
  std::vector<std::int64_t> created;
  std::vector<std::int64_t> reused;
  std::vector<std::int64_t> merged;
};

// Puts `pours` (all of one user and one local day) into that day's
// sessions by the rules, creating and merging sessions as the plan says.
// New pours (`insert`) are inserted; existing ones are reassigned.
DayOutcome
apply_day(orm::Tx& tx, std::vector<orm::Session>& sessions,
          const std::vector<orm::Pour*>& pours, bool insert, orm::Origin origin,
          std::int64_t now, const Settings& settings,
          const Engine::FaultInjector& fault)
{
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

  // New sessions are named after their first pour, in its local time.
  for (auto& group : fresh) {
    const orm::Pour* first = *std::min_element(
        group.begin(), group.end(), [](const orm::Pour* a, const orm::Pour* b) {
          return a->poured_at_ms < b->poured_at_ms;
        });
    orm::Session s;
    s.user_id = first->user_id;
    s.origin = static_cast<std::int32_t>(origin);
    s.local_day = first->local_day;
    s.utc_offset_min = first->utc_offset_min;
    s.name = session_name(first->poured_at_ms, first->utc_offset_min,
                          origin == orm::Origin::recovered);
    s.created_at_ms = now;
    for (const orm::Pour* p : group)
      add_to_stats(s, *p);
    tx.insert(s);
    for (orm::Pour* p : group)
      p->session_id = s.id;
    out.created.push_back(s.id);
    if (fault)
      fault("session_created");
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

  for (std::size_t i = 0; i < sessions.size(); ++i)
    for (orm::Pour* p : joined[i])
      p->session_id = sessions[i].id;

  if (insert) {
    for (orm::Pour* p : pours)
      tx.insert(*p);
    if (fault)
      fault("pour_inserted");
  } else {
    std::map<std::int64_t, std::vector<std::int64_t>> by_session;
    for (const orm::Pour* p : pours)
      by_session[*p->session_id].push_back(p->id);
    for (const auto& [session_id, ids] : by_session)
      tx.assign_pours(session_id, ids);
  }

  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (!plan.touched[i] && !recompute[i])
      continue;
    if (recompute[i]) {
      recompute_stats(sessions[i], tx.pours_of_session(sessions[i].id));
    } else {
      for (const orm::Pour* p : joined[i])
        add_to_stats(sessions[i], *p);
    }
    tx.update(sessions[i]);
    out.reused.push_back(sessions[i].id);
  }
  return out;
}

} // namespace

ValidationError::ValidationError(std::vector<FieldError> errors)
    : std::runtime_error(summary(errors)), errors_(std::move(errors))
{}

Engine::Engine(orm::Store& store, Settings settings, Clock clock)
    : store_(store), settings_(std::move(settings)),
      clock_(clock ? std::move(clock) : Clock(system_now))
{}

// --------------------------------------------------------------------------
// Users and bottles

orm::User
Engine::create_user(const NewUser& in)
{
  std::vector<FieldError> errors;
  const std::string email = in.email;
  if (email.empty())
    errors.push_back({"email", "must not be empty"});
  else if (!valid_email(email))
    errors.push_back({"email", "must be an address like name@example.com"});
  check_text(in.name, "name", k_max_name, false, errors);
  const std::string zone = in.time_zone.value_or(settings_.default_time_zone);
  if (!valid_time_zone(zone))
    errors.push_back(
        {"time_zone", "'" + zone + "' is not an IANA time zone name"});
  if (!errors.empty())
    throw ValidationError(std::move(errors));

  orm::User u;
  u.email = email;
  u.email_key = email_key(email);
  u.name = in.name;
  u.time_zone = zone;
  u.created_at_ms = clock_();
  const auto conflict = [&] {
    return Conflict("a user with email '" + email + "' already exists");
  };
  try {
    store_.transact([&](orm::Tx& tx) {
      if (!tx.find_user_by_email(email).null())
        throw conflict();
      u.id = 0;
      tx.insert(u);
    });
  } catch (const orm::DatabaseError& e) {
    if (e.kind() == orm::DatabaseError::Kind::duplicate)
      throw conflict();
    throw;
  }
  return u;
}

orm::Bottle
Engine::create_bottle(const NewBottle& in)
{
  std::vector<FieldError> errors;
  check_text(in.name, "name", k_max_name, true, errors);
  orm::Bottle b;
  b.user_id = in.user_id;
  b.name = in.name;
  if (in.price) {
    std::int64_t minor = 0;
    if (!std::isfinite(*in.price) || *in.price < 0 || *in.price > k_max_price)
      errors.push_back({"price", "must be from 0 to 1000000"});
    else if (!scaled(*in.price, 100, minor))
      errors.push_back({"price", "must have at most two decimals"});
    else
      b.price_minor = minor;
  }
  if (in.volume_ml) {
    std::int64_t ml = 0;
    if (!std::isfinite(*in.volume_ml) || !scaled(*in.volume_ml, 1, ml) ||
        ml < 1 || ml > 100'000)
      errors.push_back({"volume_ml", "must be a whole number from 1 to "
                                     "100000"});
    else
      b.volume_ml = static_cast<std::int32_t>(ml);
  }
  if (!errors.empty())
    throw ValidationError(std::move(errors));

  b.created_at_ms = clock_();
  store_.transact([&](orm::Tx& tx) {
    if (tx.find_user(in.user_id).null())
      throw NotFound(id_text("user", in.user_id) + " does not exist");
    b.id = 0;
    tx.insert(b);
  });
  return b;
}

orm::User
Engine::user(std::int64_t id)
{
  odb::nullable<orm::User> u;
  store_.transact([&](orm::Tx& tx) { u = tx.find_user(id); });
  if (u.null())
    throw NotFound(id_text("user", id) + " does not exist");
  return *u;
}

orm::User
Engine::user_by_email(const std::string& email)
{
  odb::nullable<orm::User> u;
  store_.transact([&](orm::Tx& tx) { u = tx.find_user_by_email(email); });
  if (u.null())
    throw NotFound("no user has email '" + email + "'");
  return *u;
}

// --------------------------------------------------------------------------
// Pours

PourResult
Engine::create_pour(const NewPour& in, const std::string& idempotency_key)
{
  std::vector<FieldError> errors;
  orm::Pour p;
  p.user_id = in.user_id;
  p.bottle_id = in.bottle_id;

  if (!std::isfinite(in.amount_oz) || in.amount_oz < 0.1 - 1e-9 ||
      in.amount_oz > 10 + 1e-9)
    errors.push_back({"amount_oz", "must be from 0.1 to 10 ounces"});
  else
    p.amount_coz = std::llround(in.amount_oz * 100);

  if (in.rating) {
    std::int64_t tenths = 0;
    if (!std::isfinite(*in.rating) || *in.rating < 0 || *in.rating > 10)
      errors.push_back({"rating", "must be from 0 to 10"});
    else if (!scaled(*in.rating, 10, tenths))
      errors.push_back({"rating", "must have at most one decimal"});
    else
      p.rating_tenths = static_cast<std::int32_t>(tenths);
  }

  check_text(in.notes, "notes", k_max_notes, false, errors);
  p.notes = in.notes;

  if (in.location) {
    if (auto l = canonical_location(*in.location))
      p.location = *l;
    else
      errors.push_back({"location",
                        "must be one of Home, Bar, Restaurant, Tasting, "
                        "Friend's Place, Event, Other"});
  }
  p.tags = join_set(normalize_set(in.tags, "tags", errors));
  p.companions = join_set(normalize_set(in.companions, "companions", errors));

  if (in.poured_at && in.poured_at->offset_min &&
      (*in.poured_at->offset_min < k_min_offset ||
       *in.poured_at->offset_min > k_max_offset))
    errors.push_back({"poured_at", "has a UTC offset outside -12:00..+14:00"});

  if (idempotency_key.size() > k_max_key ||
      std::any_of(idempotency_key.begin(), idempotency_key.end(),
                  [](unsigned char c) { return c < 0x21 || c > 0x7e; }))
    errors.push_back(
        {"Idempotency-Key", "must be at most 255 visible ASCII characters"});
  if (!errors.empty())
    throw ValidationError(std::move(errors));

  const std::string hash =
      idempotency_key.empty() ? std::string() : request_hash(in);
  const std::int64_t now = clock_();
  const std::int64_t when = in.poured_at ? in.poured_at->utc_ms : now;
  p.poured_at_ms = when;
  p.created_at_ms = now;

  PourResult result;
  store_.transact([&](orm::Tx& tx) {
    result = PourResult{};
    orm::Pour pour = p;
    if (!tx.lock_user(in.user_id))
      throw NotFound(id_text("user", in.user_id) + " does not exist");

    if (!idempotency_key.empty()) {
      auto seen = tx.find_idempotency_key(idempotency_key);
      if (!seen.null()) {
        if (seen->request_hash != hash)
          throw Conflict("Idempotency-Key '" + idempotency_key +
                         "' was already used with a different request");
        auto first = tx.find_pour(seen->pour_id);
        if (first.null())
          throw Conflict("Idempotency-Key '" + idempotency_key +
                         "' refers to a pour that no longer exists");
        auto s = resolve_session(
            tx, first->session_id.null() ? 0 : *first->session_id);
        result.pour = *first;
        if (!s.null())
          result.session = *s;
        result.replayed = true;
        return;
      }
    }

    const orm::User user = *tx.find_user(in.user_id);
    const auto bottle = tx.find_bottle(in.bottle_id);
    if (bottle.null() || bottle->user_id != in.user_id)
      throw ValidationError({{"bottle_id", id_text("bottle", in.bottle_id) +
                                               " does not exist for " +
                                               id_text("user", in.user_id)}});
    if (!bottle->price_minor.null())
      pour.cost_minor =
          pour_cost(*bottle->price_minor, bottle->volume_ml, pour.amount_coz);

    pour.own_offset = in.poured_at && in.poured_at->offset_min.has_value();
    pour.utc_offset_min = pour.own_offset ? *in.poured_at->offset_min
                                          : zone_offset(user.time_zone, when);
    pour.local_day =
        local_day(when, pour.utc_offset_min, settings_.day_boundary_min);

    if (in.session_id) {
      auto s = resolve_session(tx, *in.session_id);
      if (s.null())
        throw ValidationError(
            {{"session_id",
              id_text("session", *in.session_id) + " does not exist"}});
      if (s->user_id != in.user_id)
        throw ValidationError({{"session_id", id_text("session", s->id) +
                                                  " belongs to another user"}});
      if (s->local_day != pour.local_day)
        throw ValidationError(
            {{"session_id", id_text("session", s->id) + " is on " +
                                day_text(s->local_day) +
                                ", not on the pour's local day " +
                                day_text(pour.local_day)}});
      pour.auto_grouped = false;
      pour.session_id = s->id;
      tx.insert(pour);
      if (fault_)
        fault_("pour_inserted");
      add_to_stats(*s, pour);
      tx.update(*s);
      result.session = *s;
    } else {
      auto sessions = tx.live_sessions_on_day(user.id, pour.local_day);
      apply_day(tx, sessions, {&pour}, true, orm::Origin::auto_grouped, now,
                settings_, fault_);
      result.session = *tx.find_session(*pour.session_id);
    }

    if (!idempotency_key.empty()) {
      orm::IdempotencyKey key;
      key.key = idempotency_key;
      key.request_hash = hash;
      key.pour_id = pour.id;
      key.created_at_ms = now;
      tx.insert(key);
    }
    result.pour = pour;
  });
  return result;
}

// --------------------------------------------------------------------------
// Sessions

CurrentResult
Engine::current_session(std::int64_t user_id,
                        const std::optional<std::string>& location,
                        const std::vector<std::string>& tags)
{
  std::vector<FieldError> errors;
  std::string place;
  if (location) {
    if (auto l = canonical_location(*location))
      place = *l;
    else
      errors.push_back({"location",
                        "must be one of Home, Bar, Restaurant, Tasting, "
                        "Friend's Place, Event, Other"});
  }
  const std::string tag_set = join_set(normalize_set(tags, "tags", errors));
  if (!errors.empty())
    throw ValidationError(std::move(errors));

  CurrentResult result;
  store_.transact([&](orm::Tx& tx) {
    result = CurrentResult{};
    if (!tx.lock_user(user_id))
      throw NotFound(id_text("user", user_id) + " does not exist");
    const orm::User user = *tx.find_user(user_id);
    const std::int64_t now = clock_();
    const std::int32_t offset = zone_offset(user.time_zone, now);
    const std::int32_t today =
        local_day(now, offset, settings_.day_boundary_min);

    // The most recently active session of today within the window.
    std::optional<orm::Session> best;
    std::int64_t best_activity = 0;
    for (auto& s : tx.live_sessions_on_day(user_id, today)) {
      const std::int64_t activity = span_of(s).last_ms;
      if (now - activity > settings_.current_window_ms)
        continue;
      if (!best || activity > best_activity) {
        best = s;
        best_activity = activity;
      }
    }

    if (best) {
      if (best->location.empty() && !place.empty())
        best->location = place;
      best->tags = union_sets(best->tags, tag_set);
      tx.update(*best);
      result.session = *best;
      return;
    }
    orm::Session s;
    s.user_id = user_id;
    s.origin = static_cast<std::int32_t>(orm::Origin::current);
    s.local_day = today;
    s.utc_offset_min = offset;
    s.name = session_name(now, offset, false);
    s.created_at_ms = now;
    s.location = place;
    s.tags = tag_set;
    tx.insert(s);
    result.session = s;
    result.created = true;
  });
  return result;
}

std::vector<orm::Session>
Engine::sessions(std::int64_t user_id, std::optional<std::int32_t> from_day,
                 std::optional<std::int32_t> to_day)
{
  std::vector<orm::Session> out;
  store_.transact([&](orm::Tx& tx) {
    if (tx.find_user(user_id).null())
      throw NotFound(id_text("user", user_id) + " does not exist");
    out = tx.live_sessions(user_id, from_day.value_or(INT32_MIN),
                           to_day.value_or(INT32_MAX));
  });
  return out;
}

SessionView
Engine::session(std::int64_t id)
{
  SessionView view;
  store_.transact([&](orm::Tx& tx) {
    auto s = tx.find_session(id);
    if (s.null())
      throw NotFound(id_text("session", id) + " does not exist");
    view.session = *s;
    view.pours = s->merged_into.null() ? tx.pours_of_session(id)
                                       : std::vector<orm::Pour>{};
  });
  return view;
}

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
                      RecoveryReport& delta,
                      DayOutcome& written) -> std::size_t {
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
    for (auto& s : tx.live_sessions(user_id, days.begin()->first,
                                    days.rbegin()->first))
      sessions_by_day[s.local_day].push_back(std::move(s));
    const std::int64_t now = clock_();
    for (auto& [day, day_pours] : days) {
      auto& sessions = sessions_by_day[day];
      if (options.execute) {
        DayOutcome o = apply_day(tx, sessions, day_pours, false,
                                 orm::Origin::recovered, now, settings_,
                                 fault_);
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
        fix_user(tx, user_id, SIZE_MAX, delta, unused);
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
      std::size_t budget = batch;
      while (budget > 0 && next_after < users.size()) {
        const std::int64_t user_id = users[next_after];
        if (!tx.lock_user(user_id)) {
          // Orphans of a user row that is gone cannot be grouped; they
          // stay and are counted as remaining.
          ++next_after;
          continue;
        }
        const std::size_t done =
            fix_user(tx, user_id, budget, delta, written);
        if (done < budget)
          ++next_after;
        budget -= done;
      }
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
        auto mismatch = [&](const char* what, std::int64_t stored,
                            std::int64_t actual) {
          if (stored != actual)
            out.push_back({uid, 0, sid,
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
