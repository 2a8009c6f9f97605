// The store: pourd's narrow door to the database.
//
// This header is included by C++14 code (store.cpp, which holds the ODB
// runtime) and by C++20 code (everything else), so it uses only C++14 and
// names no ODB runtime type beyond the model. Callers never see ODB
// exceptions: the store turns them into DatabaseError.
#pragma once

#include "orm/model.hxx"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace odb {
class database;
namespace mysql {
class connection;
}
} // namespace odb

namespace pourd {
namespace orm {

enum class Backend
{
  sqlite,
  mysql
};

// Where the database is; made from a `database` URL by config/.
struct ConnectOptions
{
  Backend backend = Backend::sqlite;
  std::string path; // sqlite: file path or ":memory:"
  std::string user;
  std::string password;
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string database;
  std::string socket;
  // Pooled connections; 0 takes the backend's default (Store::open).
  unsigned max_connections = 0;
};

class DatabaseError : public std::runtime_error
{
public:
  enum class Kind
  {
    unavailable, // cannot connect, or retries were used up
    duplicate,   // a unique key already holds the value
    schema,      // schema missing, older or newer than this binary
    // The connection broke during COMMIT and the database did not come
    // back in time to tell whether the transaction took effect.
    unknown_outcome,
    full,      // the disk (or table space) holding the database is full
    read_only, // the database or its file system takes no writes
    other
  };

  DatabaseError(Kind kind, const std::string& what)
      : std::runtime_error(what), kind_(kind)
  {}

  Kind kind() const noexcept { return kind_; }

private:
  Kind kind_;
};

// Bounded, jittered backoff for recoverable errors (deadlock, lock wait
// timeout, lost connection, a Galera node out of the cluster, SQLite busy).
// Ten tries sleep 1 to 2 s in all: enough for one user's writers on
// three Galera nodes, where each round of conflicts has one winner, to
// get through (six were not, in tests/daemon/galera_scale_out.py).
struct RetryPolicy
{
  int attempts = 10;
  std::chrono::milliseconds first_delay{5};
  std::chrono::milliseconds max_delay{500};
  // How long to keep asking, after the connection broke during COMMIT,
  // whether that commit took effect.
  std::chrono::milliseconds in_doubt_wait{15'000};
};

// Told about every recoverable error: its kind ("deadlock", "timeout",
// "connection_lost", "commit_lost" when it broke during COMMIT, "not_ready"
// for a Galera node outside the primary component) and whether the
// transaction will be tried again.
using RetryObserver = std::function<void(const char* kind, bool retrying)>;

// What one pour's write reads first, under the user's lock: the user and
// the bottle, and the user's live sessions on the local days the pour
// may fall on, by day and id.
struct PourContext
{
  UserBottle user;
  std::vector<Session> sessions;
};

// Access to the database inside one transaction. Valid only inside the
// function given to Store::transact, on that thread.
class Tx
{
public:
  Tx(odb::database& db, Backend backend, bool cluster = false)
      : db_(&db), backend_(backend), cluster_(cluster)
  {}

  Backend backend() const { return backend_; }

  // Takes the user's write lock and reads the user; null when there is no
  // such user. On one MySQL server the row lock (SELECT ... FOR UPDATE)
  // serializes the user's writers. On a Galera node it is an UPDATE of the
  // user's lock_token, since only written rows are certified: concurrent
  // writers on different nodes then conflict at COMMIT. SQLite write
  // transactions are exclusive already.
  odb::nullable<User> lock_user(std::int64_t user_id);
  // lock_user, the user's bottle `bottle_id` and the user's live sessions
  // on local days `from_day` to `to_day`: one statement on one MySQL
  // server. Null when the user or that bottle of the user does not exist
  // (the caller tells which with lock_user).
  odb::nullable<PourContext> lock_for_pour(std::int64_t user_id,
                                           std::int64_t bottle_id,
                                           std::int32_t from_day,
                                           std::int32_t to_day);

  // Galera: throws odb::deadlock unless every lock this transaction took
  // is still its own, i.e. the server did not end the transaction
  // unnoticed. Store::transact calls it before COMMIT.
  void verify_locks();

  // Users.
  odb::nullable<User> find_user(std::int64_t id);
  odb::nullable<User> find_user_by_email(const std::string& email);
  std::vector<User> users();
  void insert(User& user);
  void update(const User& user);

  // Bottles.
  odb::nullable<Bottle> find_bottle(std::int64_t id);
  odb::nullable<Bottle> find_bottle_by_name(std::int64_t user_id,
                                            const std::string& name);
  void insert(Bottle& bottle);

  // Sessions. The "live" ones have not been merged away.
  odb::nullable<Session> find_session(std::int64_t id);
  std::vector<Session> live_sessions_on_day(std::int64_t user_id,
                                            std::int32_t local_day);
  std::vector<Session> live_sessions(std::int64_t user_id,
                                     std::int32_t from_day,
                                     std::int32_t to_day);
  odb::nullable<Session> latest_live_session(std::int64_t user_id);
  // Every session of the user, merged ones included.
  std::vector<Session> all_sessions(std::int64_t user_id);
  void insert(Session& session);
  // Inserts all of `sessions` in few statements and sets their ids.
  void insert_sessions(const std::vector<Session*>& sessions);
  void update(const Session& session);

  // Pours.
  odb::nullable<Pour> find_pour(std::int64_t id);
  odb::nullable<Pour> find_pour_by_external_id(std::int64_t user_id,
                                               const std::string& id);
  std::vector<Pour> pours_of_session(std::int64_t session_id);
  std::vector<Pour> pours_of_user(std::int64_t user_id);
  void insert(Pour& pour);
  // Inserts `pour` with the sessions it changes: first `opened` when given
  // (a new session the pour joins), then updates each of `changed`. One
  // round trip on MySQL. Sets the new ids.
  void insert_pour(Pour& pour, Session* opened,
                   const std::vector<const Session*>& changed);
  void update(const Pour& pour);
  // Whether the user's pour at `poured_at_ms` written with `token` exists.
  bool pour_written(std::int64_t user_id, std::int64_t poured_at_ms,
                    std::int64_t token);
  // Moves every pour of session `from` to session `to`.
  void move_pours(std::int64_t from, std::int64_t to);
  // Puts the given pours into session `session_id`.
  void assign_pours(std::int64_t session_id,
                    const std::vector<std::int64_t>& pour_ids);
  // Puts each pour (first) into its session (second), in few statements.
  void assign_pours(const std::vector<std::pair<std::int64_t, std::int64_t>>&
                        pour_to_session);

  // Orphans.
  std::int64_t count_orphans();
  std::vector<OrphanGroup> orphan_groups();
  // Users that have orphans, ascending, at most `limit`.
  std::vector<std::int64_t> users_with_orphans(std::size_t limit);
  // A user's orphans in time order, at most `limit`.
  std::vector<Pour> orphans_of_user(std::int64_t user_id, std::size_t limit);

  // Idempotency keys.
  odb::nullable<IdempotencyKey> find_idempotency_key(const std::string& key);
  void insert(IdempotencyKey& key);

  // Sweeps.
  void insert(SweepRun& run);
  odb::nullable<Lease> find_lease(const std::string& name);
  void insert(Lease& lease);
  void update(const Lease& lease);
  // Gives the existing lease row `name` to `holder` until `until_ms` when
  // `holder` has it already, it expired by `now_ms`, or it is still held
  // by `gone` (a holder known to be dead; empty for none), in one
  // conditional UPDATE, so two instances can never both win. True when it
  // did. Names and holders are limited to [A-Za-z0-9._:-].
  bool claim_lease(const std::string& name, const std::string& holder,
                   std::int64_t now_ms, std::int64_t until_ms,
                   const std::string& gone = {});

  // Deletes a user and everything that belongs to it.
  void erase_user_data(std::int64_t user_id);

  // Runs SQL as it is; for tests and maintenance only.
  void execute(const std::string& sql);

private:
  odb::database* db_;
  Backend backend_;
  bool cluster_; // MySQL on a Galera node
  // MySQL: writes a fresh lock token into the user's row and remembers
  // it; false when there is no such user.
  bool write_lock(std::int64_t user_id);
  // MySQL: the connection this transaction runs on.
  odb::mysql::connection& mysql_connection();

  // (user id, token) of each lock_user on MySQL.
  std::vector<std::pair<std::int64_t, std::int64_t>> locks_;
};

class Store
{
public:
  // Connects (SQLite creates the file). Throws DatabaseError.
  static std::unique_ptr<Store> open(const ConnectOptions& options);

  ~Store();

  Backend backend() const;
  // How many connections the pool holds: as many transactions as can run
  // at once.
  std::size_t connections() const;

  // The schema version this binary was built for.
  static std::int64_t model_version();

  // The version in the database; 0 when it has no schema yet.
  std::int64_t schema_version();

  // Creates the schema, or migrates an older one. Refuses a newer one.
  void migrate();

  // Throws DatabaseError(schema) unless the schema is exactly current.
  void check_schema();

  // True when the database answers a trivial query.
  bool ping();

  // Why writes would fail now though the database answers, or empty: for
  // SQLite, a read-only file system or less than 1 MiB free beside the
  // file. Cheap (one statvfs); MySQL reports nothing here.
  std::string write_problem();

  // Runs `fn` in one transaction and commits; any exception rolls back.
  // Recoverable errors rerun `fn` under the retry policy; when tries run
  // out the store throws DatabaseError(unavailable). Thread-safe.
  //
  // When the connection breaks during COMMIT, that commit may or may not
  // have taken effect. Without `landed`, `fn` simply runs again: fit for
  // reads and for writes that find their own earlier work. With it, the
  // store asks `landed`, in a transaction of its own once the database
  // answers again, whether the commit took effect: if so the call returns
  // as if the commit had answered (what `fn` left in its captures is what
  // was stored), otherwise `fn` runs again. `landed` must wait for the
  // broken transaction to end (take the lock it held) before it looks.
  // If the database does not answer within `in_doubt_wait`, throws
  // DatabaseError(unknown_outcome).
  using Landed = std::function<bool(Tx&)>;
  void transact(const std::function<void(Tx&)>& fn, const Landed& landed = {});

  void set_retry_policy(const RetryPolicy& policy);
  void set_retry_observer(RetryObserver observer);

  struct Impl;

private:
  explicit Store(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

} // namespace orm
} // namespace pourd
