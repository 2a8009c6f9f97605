// The persistent model of pourd: plain structs mapped by ODB.
//
// This header is read by the ODB compiler and by C++14 and C++20 code alike,
// so it includes only <odb/core.hxx> and <odb/nullable.hxx>. Instants are
// integer milliseconds since the epoch (UTC); amounts are hundredths of an
// ounce and money is in minor currency units, so no backend rounds them.
//
// The whole schema is one ODB model, versioned with schema evolution; the
// committed changelogs live in orm/changelog/.
#pragma once

#include <cstdint>
#include <string>

#include <odb/core.hxx>
#include <odb/nullable.hxx>

// Version 2 added Pour::write_token, version 3 User::lock_token.
#pragma db model version(1, 3)

namespace pourd {
namespace orm {

// Values of Session::origin, stored as integers: never renumber.
enum class Origin : int
{
  auto_grouped = 0,
  current = 1,
  explicit_choice = 2,
  recovered = 3
};

#pragma db object table("pourd_user")
struct User
{
  #pragma db id auto
  std::int64_t id = 0;

  // The address as given, and its lower-cased form that makes it unique.
  #pragma db type("VARCHAR(255)")
  std::string email;

  #pragma db type("VARCHAR(255)") unique
  std::string email_key;

  #pragma db type("VARCHAR(255)")
  std::string name;

  #pragma db type("VARCHAR(64)")
  std::string time_zone;

  std::int64_t created_at_ms = 0;

  // Set to a fresh random number by every write transaction that locks
  // the user (Tx::lock_user) on MySQL. The write puts the user's row into
  // the transaction's write set, which is what certification-based
  // clusters (Galera, group replication) compare: two writers of one user
  // on different nodes then conflict at COMMIT, where a SELECT ... FOR
  // UPDATE alone locks only on the node that ran it. Reading the token
  // back before COMMIT shows the transaction is still intact.
  #pragma db default(0)
  std::int64_t lock_token = 0;
};

#pragma db object table("pourd_bottle")
struct Bottle
{
  #pragma db index("bottle_user_i") members(user_id)

  #pragma db id auto
  std::int64_t id = 0;

  std::int64_t user_id = 0;

  #pragma db type("VARCHAR(255)")
  std::string name;

  // Minor currency units; null when the bottle has no price.
  odb::nullable<std::int64_t> price_minor;

  std::int32_t volume_ml = 750;

  std::int64_t created_at_ms = 0;
};

// Tx::insert_sessions (store.cpp) writes these columns by name: a new
// member needs a place there too.
#pragma db object table("pourd_session")
struct Session
{
  #pragma db index("user_day_i") members(user_id, local_day)

  #pragma db id auto
  std::int64_t id = 0;

  std::int64_t user_id = 0;

  #pragma db type("VARCHAR(255)")
  std::string name;

  // An Origin value.
  std::int32_t origin = 0;

  // Days since 1970-01-01 of the local day (after the day boundary shift).
  std::int32_t local_day = 0;

  // Offset in minutes of the local time the session's name was made in.
  std::int32_t utc_offset_min = 0;

  std::int64_t created_at_ms = 0;

  // Null while the session has no pour.
  odb::nullable<std::int64_t> first_pour_ms;
  odb::nullable<std::int64_t> last_pour_ms;

  // The span of the automatically grouped pours, which later pours are
  // grouped by; a pour placed in the session by choice widens the span
  // above but not this one. Null while there is no such pour.
  odb::nullable<std::int64_t> auto_first_ms;
  odb::nullable<std::int64_t> auto_last_ms;

  std::int64_t pour_count = 0;
  std::int64_t total_amount_coz = 0;
  std::int64_t total_cost_minor = 0;
  std::int64_t rating_sum_tenths = 0;
  std::int64_t rated_count = 0;

  // Sorted, newline-separated sets.
  #pragma db type("TEXT")
  std::string tags;

  #pragma db type("TEXT")
  std::string companions;

  #pragma db type("VARCHAR(32)")
  std::string location;

  // Set when a late pour merged this session into an earlier one.
  odb::nullable<std::int64_t> merged_into;
};

#pragma db object table("pourd_pour")
struct Pour
{
  #pragma db index("user_time_i") members(user_id, poured_at_ms)
  #pragma db index("user_external_i") unique members(user_id, external_id)
  #pragma db index("pour_session_i") members(session_id)

  #pragma db id auto
  std::int64_t id = 0;

  std::int64_t user_id = 0;
  std::int64_t bottle_id = 0;

  // Null for an orphan.
  odb::nullable<std::int64_t> session_id;

  std::int64_t poured_at_ms = 0;

  // The offset the local day was resolved with, fixed at write time.
  std::int32_t utc_offset_min = 0;
  std::int32_t local_day = 0;

  std::int64_t amount_coz = 0;
  odb::nullable<std::int32_t> rating_tenths;
  odb::nullable<std::int64_t> cost_minor;

  #pragma db type("TEXT")
  std::string notes;

  #pragma db type("VARCHAR(32)")
  std::string location;

  #pragma db type("TEXT")
  std::string tags;

  #pragma db type("TEXT")
  std::string companions;

  // False when the client chose the session: the gap rule skips such pours.
  bool auto_grouped = true;

  // Whether the pour carried its own UTC offset (else: the user's zone).
  bool own_offset = false;

  // A random number the write that created the pour chose, so that after
  // losing the connection during COMMIT pourd can tell whether that
  // commit took effect. Null for imported pours and pours from version 1.
  odb::nullable<std::int64_t> write_token;

  // Identity of an imported row, so re-imports add nothing.
  #pragma db type("VARCHAR(128)")
  odb::nullable<std::string> external_id;

  std::int64_t created_at_ms = 0;
};

#pragma db object table("pourd_idempotency")
struct IdempotencyKey
{
  // "<user id>:<key as sent>": each user has keys of their own.
  #pragma db id type("VARCHAR(300)")
  std::string key;

  // Hash of the request body the key was first used with.
  #pragma db type("VARCHAR(64)")
  std::string request_hash;

  std::int64_t pour_id = 0;
  std::int64_t created_at_ms = 0;

  // The answer the first request got, sent again to every replay.
  #pragma db type("TEXT")
  std::string response;
};

#pragma db object table("pourd_sweep_run")
struct SweepRun
{
  #pragma db id auto
  std::int64_t id = 0;

  #pragma db type("VARCHAR(16)")
  std::string trigger;

  #pragma db type("VARCHAR(255)")
  std::string holder;

  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;
  std::int64_t found = 0;
  std::int64_t fixed = 0;
  std::int64_t remaining = 0;
  std::int64_t sessions_created = 0;

  #pragma db type("TEXT")
  std::string error;
};

// One row per named lease; the holder sweeps until expires_at_ms.
#pragma db object table("pourd_lease")
struct Lease
{
  #pragma db id type("VARCHAR(64)")
  std::string name;

  #pragma db type("VARCHAR(255)")
  std::string holder;

  std::int64_t expires_at_ms = 0;
};

// A user with one of its bottles: what a new pour needs of both, read in
// one statement (the write path reads it under the user's row lock).
#pragma db view object(User) object(Bottle: Bottle::user_id == User::id)
struct UserBottle
{
  #pragma db column(User::id)
  std::int64_t user_id;

  #pragma db column(User::time_zone)
  std::string time_zone;

  #pragma db column(Bottle::id)
  std::int64_t bottle_id;

  #pragma db column(Bottle::price_minor)
  odb::nullable<std::int64_t> price_minor;

  #pragma db column(Bottle::volume_ml)
  std::int32_t volume_ml;
};

// Orphans per user: how many and the oldest pour time.
#pragma db view object(Pour) object(User: Pour::user_id == User::id) \
  query(Pour::session_id.is_null () + "GROUP BY" + Pour::user_id + "," + \
        User::email + "ORDER BY" + Pour::user_id)
struct OrphanGroup
{
  #pragma db column(Pour::user_id)
  std::int64_t user_id;

  #pragma db column(User::email)
  std::string email;

  #pragma db column("count(" + Pour::id + ")")
  std::int64_t count;

  #pragma db column("min(" + Pour::poured_at_ms + ")")
  std::int64_t oldest_ms;
};

#pragma db view object(Pour)
struct PourCount
{
  #pragma db column("count(" + Pour::id + ")")
  std::int64_t count;
};

} // namespace orm
} // namespace pourd
