// The session engine: every operation that keeps "each pour in exactly one
// session" true, shared by the admin endpoint, the sweep and pourctl.
//
// Each call is one database transaction (retried on recoverable errors by
// the store). Thread-safe: any number of threads may call one Engine.
#pragma once

#include "engine/rules.hpp"
#include "orm/store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pourd::engine {

// Input that breaks a rule; names every offending field.
class ValidationError : public std::runtime_error
{
public:
  explicit ValidationError(std::vector<FieldError> errors);
  const std::vector<FieldError>& errors() const { return errors_; }

private:
  std::vector<FieldError> errors_;
};

// A referenced user, bottle or session does not exist.
class NotFound : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// The request contradicts stored state: an email already taken, an
// idempotency key reused with another body.
class Conflict : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

struct NewUser
{
  std::string email;
  std::string name;
  std::optional<std::string> time_zone; // default_time_zone when absent
};

struct NewBottle
{
  std::int64_t user_id = 0;
  std::string name;
  std::optional<double> price;     // currency units
  std::optional<double> volume_ml; // 750 when absent
};

// A point in time as a client gave it.
struct Instant
{
  std::int64_t utc_ms = 0;
  // The offset written in the timestamp, when it carried one (not "Z").
  std::optional<std::int32_t> offset_min;
};

struct NewPour
{
  std::int64_t user_id = 0;
  std::int64_t bottle_id = 0;
  double amount_oz = 0;
  std::optional<Instant> poured_at; // now when absent
  std::optional<double> rating;
  std::string notes;
  std::optional<std::string> location;
  std::vector<std::string> tags;
  std::vector<std::string> companions;
  std::optional<std::int64_t> session_id;
};

struct PourResult
{
  orm::Pour pour;
  orm::Session session;
  bool replayed = false; // an idempotent replay of an earlier request
  // With an idempotency key and a renderer: the answer as first rendered,
  // the same for every replay.
  std::string body;
};

// Turns a created pour into the answer a client gets; run inside the
// transaction so the stored answer and the pour commit together.
using Renderer = std::function<std::string(const PourResult&)>;

struct CurrentResult
{
  orm::Session session;
  bool created = false;
};

struct SessionView
{
  orm::Session session;
  std::vector<orm::Pour> pours;
};

struct OrphanReport
{
  std::int64_t count = 0;
  std::vector<orm::OrphanGroup> by_user;
};

// What recovering orphans does, or would do in a dry run.
struct RecoveryReport
{
  std::int64_t found = 0;            // orphans when the run began
  std::int64_t fixed = 0;            // pours given a session
  std::int64_t remaining = 0;        // orphans left afterwards
  std::int64_t sessions_reused = 0;  // existing sessions that took pours
  std::int64_t sessions_created = 0; // recovered sessions made
  std::int64_t sessions_merged = 0;  // sessions merged away
  std::int64_t users = 0;            // users touched
  std::int64_t batches = 0;          // transactions committed
};

struct RecoveryOptions
{
  std::optional<std::int64_t> user_id; // all users when absent
  bool execute = false;                // false: plan only, write nothing
  std::size_t batch = 1000;            // pours per transaction
  // Called after each committed batch; returning false stops the run
  // before the next batch (shutdown).
  std::function<bool(const RecoveryReport&)> on_batch;
};

// One breach of the session rules, for debug views and tests.
struct Violation
{
  std::int64_t user_id = 0;
  std::int64_t pour_id = 0;    // 0 when about a session
  std::int64_t session_id = 0; // 0 when about an orphan
  std::string reason;
};

class Engine
{
public:
  using Clock = std::function<std::int64_t()>; // now, in UTC milliseconds

  Engine(orm::Store& store, Settings settings, Clock clock = {});

  const Settings& settings() const { return settings_; }

  // Called inside write transactions at named points ("session_created",
  // "pour_inserted"); a fault injector throws there to prove that the
  // whole transaction rolls back. Set it before sharing the engine.
  using FaultInjector = std::function<void(const char* point)>;
  void set_fault_injector(FaultInjector injector)
  {
    fault_ = std::move(injector);
  }
  orm::Store& store() { return store_; }

  orm::User create_user(const NewUser& input);
  orm::Bottle create_bottle(const NewBottle& input);

  // Creates the pour and finds, creates or merges its session, in one
  // transaction. With `idempotency_key` (scoped to the user), a replay of
  // the same request returns the first result, with the first answer
  // `render` made, and a different request throws Conflict. Requests are
  // compared after normalization (tag order and case do not matter).
  PourResult create_pour(const NewPour& input,
                         const std::string& idempotency_key = {},
                         const Renderer& render = {});

  // The user's session active within the current window today, or a new
  // empty one; fills an empty location and adds tags.
  CurrentResult current_session(std::int64_t user_id,
                                const std::optional<std::string>& location,
                                const std::vector<std::string>& tags);

  // Live sessions of a user whose local day lies in [from_day, to_day].
  std::vector<orm::Session> sessions(std::int64_t user_id,
                                     std::optional<std::int32_t> from_day,
                                     std::optional<std::int32_t> to_day);

  // A session with its pours. A merged session id resolves to its
  // survivor only if `follow_merged`; otherwise the merged row is returned
  // (its merged_into tells where its pours went).
  SessionView session(std::int64_t id);

  orm::User user(std::int64_t id);
  orm::User user_by_email(const std::string& email);

  OrphanReport orphans();

  // Finds orphans and assigns them by the rules; see RecoveryOptions.
  RecoveryReport recover(const RecoveryOptions& options);

  // Every rule breach among the user's pours and sessions (all users when
  // absent).
  std::vector<Violation> check(std::optional<std::int64_t> user_id = {});

private:
  orm::Store& store_;
  Settings settings_;
  Clock clock_;
  FaultInjector fault_;
};

} // namespace pourd::engine
