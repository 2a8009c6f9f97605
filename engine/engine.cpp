#include "engine/engine.hpp"

#include "engine/day_writer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace pourd::engine {

using detail::apply_day;
using detail::id_text;
using detail::resolve_session;

namespace {

constexpr std::size_t k_max_notes = 1000;
constexpr std::size_t k_max_name = 255;
constexpr std::size_t k_max_key = 255;
constexpr double k_max_price = 1'000'000;

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

// Stable across processes and versions: FNV-1a over a canonical text of
// the validated, normalized request (`p` before it is stored), so tag
// order or case makes no difference.
std::string
request_hash(const NewPour& in, const orm::Pour& p)
{
  std::ostringstream text;
  text << p.user_id << '|' << p.bottle_id << '|' << p.amount_coz << '|';
  if (in.poured_at) {
    text << in.poured_at->utc_ms;
    if (in.poured_at->offset_min)
      text << '@' << *in.poured_at->offset_min;
  }
  text << '|'
       << (p.rating_tenths.null() ? "-" : std::to_string(*p.rating_tenths))
       << '|' << p.notes.size() << ':' << p.notes << '|' << p.location << '|'
       << p.tags.size() << ':' << p.tags << '|' << p.companions.size() << ':'
       << p.companions << '|'
       << (in.session_id ? std::to_string(*in.session_id) : "-");

  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text.str()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// A random positive number naming one write, for Store::transact to find
// after a lost COMMIT.
std::int64_t
write_token()
{
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> pick(1, INT64_MAX);
  return pick(rng);
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
    store_.transact(
        [&](orm::Tx& tx) {
          if (!tx.find_user_by_email(email).null())
            throw conflict();
          u.id = 0;
          tx.insert(u);
        },
        [&](orm::Tx& tx) {
          // The email is unique: the row found is this write's if it has
          // the id and time this write gave it.
          const auto found = tx.find_user_by_email(email);
          return !found.null() && found->id == u.id &&
                 found->created_at_ms == u.created_at_ms;
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
  store_.transact(
      [&](orm::Tx& tx) {
        if (tx.lock_user(in.user_id).null())
          throw NotFound(id_text("user", in.user_id) + " does not exist");
        b.id = 0;
        tx.insert(b);
      },
      [&](orm::Tx& tx) {
        // Under the user's lock, which the lost write held.
        tx.lock_user(in.user_id);
        const auto found = tx.find_bottle(b.id);
        return !found.null() && found->user_id == b.user_id &&
               found->name == b.name && found->created_at_ms == b.created_at_ms;
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
Engine::create_pour(const NewPour& in, const std::string& idempotency_key,
                    const Renderer& render)
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

  if (in.poured_at && !plausible_instant(in.poured_at->utc_ms))
    errors.push_back({"poured_at", "must lie between 1970 and 3000"});
  else if (in.poured_at && in.poured_at->offset_min &&
           !plausible_offset(*in.poured_at->offset_min))
    errors.push_back({"poured_at", "has a UTC offset outside -12:00..+14:00"});

  if (idempotency_key.size() > k_max_key ||
      std::any_of(idempotency_key.begin(), idempotency_key.end(),
                  [](unsigned char c) { return c < 0x21 || c > 0x7e; }))
    errors.push_back(
        {"Idempotency-Key", "must be at most 255 visible ASCII characters"});
  if (!errors.empty())
    throw ValidationError(std::move(errors));

  const std::string hash =
      idempotency_key.empty() ? std::string() : request_hash(in, p);
  const std::string stored_key =
      std::to_string(in.user_id) + ":" + idempotency_key;
  const std::int64_t now = clock_();
  const std::int64_t when = in.poured_at ? in.poured_at->utc_ms : now;
  p.poured_at_ms = when;
  p.created_at_ms = now;
  const std::int64_t token = write_token();
  p.write_token = token;
  // After a lost COMMIT: did this write's pour get stored? Taking the
  // user's lock first waits for the broken transaction to end.
  const auto landed = [&](orm::Tx& tx) {
    tx.lock_user(in.user_id);
    return tx.pour_written(in.user_id, when, token);
  };

  PourResult result;
  const auto write = [&](orm::Tx& tx) {
    result = PourResult{};
    orm::Pour pour = p;
    // The usual pour names an existing user and bottle: one round trip
    // locks the user and reads both, with the sessions of every local day
    // the pour can fall on whatever its offset. Otherwise find out which
    // is missing.
    const std::int32_t boundary = settings_.day_boundary_min;
    const std::int32_t first_day = local_day(when, k_min_offset_min, boundary);
    const std::int32_t last_day = local_day(when, k_max_offset_min, boundary);
    auto found =
        tx.lock_for_pour(in.user_id, in.bottle_id, first_day, last_day);
    if (found.null()) {
      if (tx.lock_user(in.user_id).null())
        throw NotFound(id_text("user", in.user_id) + " does not exist");
      throw ValidationError({{"bottle_id", id_text("bottle", in.bottle_id) +
                                               " does not exist for " +
                                               id_text("user", in.user_id)}});
    }
    const orm::UserBottle& user = found->user;

    if (!idempotency_key.empty()) {
      auto seen = tx.find_idempotency_key(stored_key);
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
        result.body = seen->response;
        return;
      }
    }

    if (!user.price_minor.null())
      pour.cost_minor =
          pour_cost(*user.price_minor, user.volume_ml, pour.amount_coz);

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
      add_to_stats(*s, pour);
      tx.insert_pour(pour, nullptr, {&*s});
      if (fault_)
        fault_("pour_inserted");
      result.session = *s;
    } else {
      std::vector<orm::Session> sessions;
      if (pour.local_day < first_day || pour.local_day > last_day) {
        // A zone offset beyond any place's: read that day on its own.
        sessions = tx.live_sessions_on_day(user.user_id, pour.local_day);
      } else {
        for (orm::Session& s : found->sessions)
          if (s.local_day == pour.local_day)
            sessions.push_back(std::move(s));
      }
      apply_day(tx, sessions, {&pour}, true, orm::Origin::auto_grouped, now,
                settings_, fault_);
      result.session = *std::find_if(
          sessions.begin(), sessions.end(),
          [&](const orm::Session& s) { return s.id == *pour.session_id; });
    }

    result.pour = pour;
    if (render)
      result.body = render(result);
    if (!idempotency_key.empty()) {
      orm::IdempotencyKey key;
      key.key = stored_key;
      key.request_hash = hash;
      key.pour_id = pour.id;
      key.created_at_ms = now;
      key.response = result.body;
      tx.insert(key);
    }
  };
  store_.transact(write, landed);
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
    const auto locked = tx.lock_user(user_id);
    if (locked.null())
      throw NotFound(id_text("user", user_id) + " does not exist");
    const orm::User& user = *locked;
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

} // namespace pourd::engine
