// The store's implementation: the only place that touches the ODB runtime.
// Compiled as C++14 (ODB 2.4 headers use dynamic exception specifications).
#include "orm/store.hpp"

#include "orm/model-odb.hxx"
#include "orm/mysql_text.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <odb/connection.hxx>
#include <odb/database.hxx>
#include <odb/exceptions.hxx>
#include <odb/mysql/connection-factory.hxx>
#include <odb/mysql/database.hxx>
#include <odb/mysql/error.hxx>
#include <odb/mysql/exceptions.hxx>
#include <odb/mysql/transaction.hxx>
#include <odb/schema-catalog.hxx>
#include <odb/sqlite/connection-factory.hxx>
#include <odb/sqlite/database.hxx>
#include <odb/sqlite/error.hxx>
#include <odb/sqlite/exceptions.hxx>
#include <odb/transaction.hxx>
#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

namespace pourd {
namespace orm {

namespace {

std::string
id_text(std::int64_t id)
{
  return std::to_string(id);
}

template <typename T>
std::vector<T>
collect(odb::result<T> r)
{
  std::vector<T> out;
  for (auto i = r.begin(); i != r.end(); ++i)
    out.push_back(*i);
  return out;
}

// A query prepared once per connection and kept there: the hot paths run
// the same few queries for every pour, and preparing each anew costs the
// server a parse and the client round trips. `make` builds the query
// around the parameters it is given; `params` points at them afterwards.
template <typename T, typename P, typename Make>
odb::prepared_query<T>
prepared(odb::database& db, const char* name, P*& params, Make make)
{
  odb::prepared_query<T> pq(db.lookup_query<T>(name, params));
  if (!pq) {
    std::unique_ptr<P> owned(new P());
    params = owned.get();
    pq = db.prepare_query<T>(name, make(*params));
    db.cache_query(pq, std::move(owned));
  }
  return pq;
}

struct IdParams
{
  std::int64_t id = 0;
};

struct UserBottleParams
{
  std::int64_t user_id = 0;
  std::int64_t bottle_id = 0;
};

struct DayParams
{
  std::int64_t user_id = 0;
  std::int32_t from_day = 0;
  std::int32_t to_day = 0;
};

// The object with that id, or null.
template <typename T, typename Id>
odb::nullable<T>
load(odb::database& db, const Id& id)
{
  odb::nullable<T> out;
  T object;
  if (db.find<T>(id, object))
    out = object;
  return out;
}

template <typename T>
odb::nullable<T>
first_of(odb::result<T> r)
{
  odb::nullable<T> out;
  auto i = r.begin();
  if (i != r.end())
    out = *i;
  return out;
}

// MySQL connections read committed data: a transaction that locked a
// user's row must then see what the previous lock holder wrote.
//
// The pool keeps every connection it opens (minimum = maximum): ODB closes
// a returned connection whenever more than the minimum are open and nobody
// waits, and a new one costs a connect, a login and a fresh prepare of
// every statement, which under load was most of the server's work.
//
// ODB's own check of a connection it hands out is a ping, a round trip
// per transaction. Here only a connection that lay unused for a while is
// pinged: one in steady use has just answered, and should the server
// have gone since, the transaction fails as connection_lost, ODB drops
// that connection and Store::transact runs the work again. The other
// connections most likely went the same way, so after a lost connection
// each is pinged before its next use: the rerun gets one that answers
// instead of trying the pooled ones one by one.
class MysqlPool : public odb::mysql::connection_pool_factory
{
public:
  explicit MysqlPool(std::size_t max)
      : odb::mysql::connection_pool_factory(max, max, false)
  {}

  odb::mysql::connection_ptr connect() override
  {
    for (;;) {
      odb::mysql::connection_ptr c = connection_pool_factory::connect();
      auto& timed = static_cast<TimedConnection&>(*c);
      const auto now = std::chrono::steady_clock::now();
      const std::uint64_t losses = losses_.load();
      const bool recent = now - timed.last_used < std::chrono::seconds(1) &&
                          timed.losses_seen == losses;
      timed.last_used = now;
      timed.losses_seen = losses;
      // A failed ping marks the connection failed: the pool drops it.
      if (recent || c->ping())
        return c;
    }
  }

  // A transaction lost its connection: ping every pooled one before its
  // next use.
  void connection_lost() { ++losses_; }

protected:
  struct TimedConnection : pooled_connection
  {
    TimedConnection(database_type& db, std::uint64_t losses)
        : pooled_connection(db), losses_seen(losses)
    {}

    std::chrono::steady_clock::time_point last_used =
        std::chrono::steady_clock::now();
    // losses_ when the connection was last handed out.
    std::uint64_t losses_seen;
  };

  pooled_connection_ptr create() override
  {
    pooled_connection_ptr c(new (odb::details::shared)
                                TimedConnection(*db_, losses_.load()));
    c->execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    // Statements after a transaction the server ended behind pourd's back
    // must not commit one by one: Tx::verify_locks() finds such a loss
    // before COMMIT, and the rollback then discards them.
    c->execute("SET SESSION autocommit = 0");
    // On a Galera node, reads and updates first wait until the node has
    // applied what the cluster committed before them (causal reads), so
    // a user created through one node is found through another at once.
    // Servers without Galera support do not know the variable.
    try {
      c->execute("SET SESSION wsrep_sync_wait = 3");
    } catch (const odb::mysql::database_exception& e) {
      if (e.error() != ER_UNKNOWN_SYSTEM_VARIABLE)
        throw;
    }
    return c;
  }

private:
  std::atomic<std::uint64_t> losses_{0};
};

// SQLite connections wait for a busy writer instead of failing at once,
// and sync the log on every commit so an acknowledged write survives.
class SqlitePool : public odb::sqlite::connection_pool_factory
{
public:
  explicit SqlitePool(std::size_t max)
      : odb::sqlite::connection_pool_factory(max, max)
  {}

protected:
  pooled_connection_ptr create() override
  {
    pooled_connection_ptr c(connection_pool_factory::create());
    sqlite3_busy_timeout(c->handle(), 5000);
    c->execute("PRAGMA synchronous = FULL");
    return c;
  }
};

// A MySQL transaction without BEGIN. pourd's connections run with
// autocommit off, so the server starts a transaction at its first
// statement anyway; BEGIN would cost a round trip per transaction.
class ImplicitBegin : public odb::mysql::transaction_impl
{
public:
  explicit ImplicitBegin(odb::mysql::connection_ptr c)
      : odb::mysql::transaction_impl(std::move(c))
  {}

  void start() override {}
};

bool
mysql_connection_error(unsigned int code)
{
  return code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR ||
         code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST ||
         code == ER_SERVER_SHUTDOWN || code == ER_CONNECTION_KILLED;
}

// Why SQLite cannot write the database at `path`, or an empty text: a
// read-only file system, a file or directory this process may not write,
// or less than 1 MiB free. The kind says which.
std::pair<DatabaseError::Kind, std::string>
sqlite_problem(const std::string& path)
{
  using Kind = DatabaseError::Kind;
  if (path.empty() || path == ":memory:")
    return {Kind::other, std::string()};
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".")
                          : slash == 0               ? std::string("/")
                                                     : path.substr(0, slash);
  const std::string uid = std::to_string(::geteuid());
  struct statvfs fs;
  if (::statvfs(dir.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY))
    return {Kind::read_only,
            "the file system holding " + path + " is mounted read-only"};
  if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0)
    return {Kind::read_only, path + " is not writable for uid " + uid};
  if (::access(dir.c_str(), W_OK) != 0)
    return {Kind::read_only,
            "the directory " + dir + " is not writable for uid " + uid +
                " (SQLite keeps its -wal and -shm files there)"};
  // Root may use the blocks reserved for it; others may not.
  if (::statvfs(dir.c_str(), &fs) == 0) {
    const unsigned long long blocks =
        ::geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
    const unsigned long long free = blocks * fs.f_frsize;
    if (free < (1ull << 20))
      return {Kind::full, "the disk holding " + path + " is full (" +
                              std::to_string(free / 1024) + " KiB free)"};
  }
  return {Kind::other, std::string()};
}

// A random token for Tx::lock_user, never 0 (the column's default).
std::int64_t
lock_token()
{
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> pick(1, INT64_MAX);
  return pick(rng);
}

// The retry kind of a MySQL error that ODB reports only by its code, or
// null when retrying cannot help.
const char*
mysql_retry_kind(unsigned int code)
{
  if (mysql_connection_error(code))
    return "connection_lost";
  // Code 0: a statement failed without the client library saying why,
  // seen when Galera aborted the transaction (see Tx::verify_locks).
  if (code == ER_LOCK_DEADLOCK || code == 0)
    return "deadlock";
  // Also what a Galera node answers when a causal read
  // (wsrep_sync_wait) waited too long.
  if (code == ER_LOCK_WAIT_TIMEOUT)
    return "timeout";
  // A Galera node outside the primary component, or not yet synced,
  // refuses statements with "WSREP has not yet prepared node for
  // application use" until it is back in the cluster.
  if (code == ER_UNKNOWN_COM_ERROR)
    return "not_ready";
  return nullptr;
}

// True when the server is a node of a Galera cluster (wsrep_on is ON).
// A row lock there holds on that node only: writers of one user on two
// nodes meet at COMMIT, and only if both wrote the same row.
bool
galera_node(odb::mysql::connection& c)
{
  const char sql[] = "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'";
  if (mysql_real_query(c.handle(), sql, sizeof sql - 1) != 0)
    odb::mysql::translate_error(c);
  MYSQL_RES* r = mysql_store_result(c.handle());
  if (r == nullptr)
    odb::mysql::translate_error(c);
  MYSQL_ROW row = mysql_fetch_row(r);
  const bool on = row && row[1] && std::strcmp(row[1], "ON") == 0;
  mysql_free_result(r);
  return on;
}

} // namespace

struct Store::Impl
{
  Backend backend;
  std::size_t connections = 1;
  // MySQL: the pool, told of every lost connection.
  MysqlPool* mysql_pool = nullptr;
  // MySQL: the server is a Galera node (see Tx::lock_user).
  bool cluster = false;
  std::string sqlite_path;
  std::unique_ptr<odb::database> db;
  // Set for SQLite, whose transactions start with BEGIN IMMEDIATE.
  odb::sqlite::database* sqlite = nullptr;
  RetryPolicy policy;
  RetryObserver observer;
  std::mutex rng_mutex;
  // SQLite runs one write transaction at a time. Threads of this process
  // queue here instead of in SQLite's busy handler, which polls by
  // sleeping whole milliseconds; other processes still meet the handler.
  std::mutex sqlite_writer;
  std::mt19937 rng{std::random_device{}()};

  odb::transaction_impl* begin()
  {
    if (sqlite)
      return sqlite->connection()->begin_immediate();
    return new ImplicitBegin(
        static_cast<odb::mysql::database&>(*db).connection());
  }

  bool resolve_commit(const Store::Landed& landed, const std::string& why);

  std::chrono::milliseconds backoff(int attempt)
  {
    auto ceiling = policy.first_delay * (1 << std::min(attempt, 10));
    ceiling = std::min(ceiling, policy.max_delay);
    std::lock_guard<std::mutex> lock(rng_mutex);
    std::uniform_int_distribution<long long> pick(ceiling.count() / 2,
                                                  ceiling.count());
    return std::chrono::milliseconds(pick(rng));
  }
};

// Asks `landed`, in transactions of its own, whether a commit whose answer
// was lost took effect; retries while the database does not answer, for
// at most policy.in_doubt_wait.
bool
Store::Impl::resolve_commit(const Store::Landed& landed, const std::string& why)
{
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + policy.in_doubt_wait;
  std::string last = why;
  for (int attempt = 1;; ++attempt) {
    try {
      std::unique_lock<std::mutex> turn;
      if (sqlite)
        turn = std::unique_lock<std::mutex>(sqlite_writer);
      odb::transaction t(begin());
      Tx tx(*db, backend, cluster);
      const bool yes = landed(tx);
      t.commit();
      return yes;
    } catch (const odb::recoverable& e) {
      last = e.what();
    } catch (const odb::mysql::database_exception& e) {
      if (!mysql_connection_error(e.error()))
        throw DatabaseError(DatabaseError::Kind::unknown_outcome,
                            "the connection broke during COMMIT, and "
                            "checking whether it took effect failed: " +
                                std::string(e.what()));
      last = e.what();
    } catch (const odb::exception& e) {
      throw DatabaseError(DatabaseError::Kind::unknown_outcome,
                          "the connection broke during COMMIT, and checking "
                          "whether it took effect failed: " +
                              std::string(e.what()));
    }
    const auto pause = backoff(attempt);
    if (clock::now() + pause > deadline)
      throw DatabaseError(
          DatabaseError::Kind::unknown_outcome,
          "the connection broke during COMMIT and the database did not "
          "answer within " +
              std::to_string(policy.in_doubt_wait.count() / 1000) +
              " s to tell whether it took effect: " + last);
    std::this_thread::sleep_for(pause);
  }
}

// --------------------------------------------------------------------------
// Tx

bool
Tx::write_lock(std::int64_t user_id)
{
  // An UPDATE rather than SELECT ... FOR UPDATE: both lock the row on this
  // server, but only a write reaches the write set that Galera and group
  // replication certify, so only a write makes two nodes' concurrent
  // writers of one user conflict (one fails at COMMIT and is retried).
  for (const auto& lock : locks_)
    if (lock.first == user_id)
      return true;
  const std::int64_t token = lock_token();
  if (db_->execute("UPDATE pourd_user SET lock_token = " + id_text(token) +
                   " WHERE id = " + id_text(user_id)) == 0)
    return false;
  locks_.push_back({user_id, token});
  return true;
}

odb::nullable<User>
Tx::lock_user(std::int64_t user_id)
{
  if (backend_ == Backend::sqlite)
    return find_user(user_id);
  if (cluster_)
    return write_lock(user_id) ? find_user(user_id) : odb::nullable<User>();
  using q = odb::query<User>;
  IdParams* p = nullptr;
  auto pq = prepared<User>(*db_, "pourd_lock_user", p, [](IdParams& v) {
    return (q::id == q::_ref(v.id)) + "FOR UPDATE";
  });
  p->id = user_id;
  return first_of(pq.execute());
}

void
Tx::verify_locks()
{
  // Under contention Galera was seen to abort a transaction without any
  // statement reporting it (most likely the abort lands on a
  // prepared-statement command that cannot carry an error); the
  // statements after it then ran in a new transaction. A lock whose token
  // is gone shows that the transaction holding it ended. The check is a
  // plain text query: reading the row back through ODB's prepared
  // statements let such losses through in the same tests.
  if (locks_.empty())
    return;
  odb::mysql::connection& c = odb::mysql::transaction::current().connection();
  for (const auto& lock : locks_) {
    const std::string sql =
        "SELECT lock_token FROM pourd_user WHERE id = " + id_text(lock.first);
    if (mysql_real_query(c.handle(), sql.data(), sql.size()) != 0)
      odb::mysql::translate_error(c);
    MYSQL_RES* r = mysql_store_result(c.handle());
    if (!r)
      odb::mysql::translate_error(c);
    MYSQL_ROW row = mysql_fetch_row(r);
    const bool held = row && row[0] && id_text(lock.second) == row[0];
    mysql_free_result(r);
    if (!held)
      throw odb::deadlock();
  }
}

odb::mysql::connection&
Tx::mysql_connection()
{
  return odb::mysql::transaction::current().connection();
}

odb::nullable<PourContext>
Tx::lock_for_pour(std::int64_t user_id, std::int64_t bottle_id,
                  std::int32_t from_day, std::int32_t to_day)
{
  // On one server the joined read locks the user's row itself (FOR
  // UPDATE); on a cluster the lock is lock_user's write and the read
  // after it needs none.
  if (cluster_ && !write_lock(user_id))
    return odb::nullable<PourContext>();
  if (backend_ == Backend::mysql)
    return mysql_text::pour_context(mysql_connection(), user_id, bottle_id,
                                    from_day, to_day, !cluster_);
  using q = odb::query<UserBottle>;
  UserBottleParams* p = nullptr;
  auto pq = prepared<UserBottle>(*db_, "pourd_user_bottle", p,
                                 [](UserBottleParams& v) {
                                   return q::User::id == q::_ref(v.user_id) &&
                                          q::Bottle::id == q::_ref(v.bottle_id);
                                 });
  p->user_id = user_id;
  p->bottle_id = bottle_id;
  odb::nullable<PourContext> out;
  const auto user = first_of(pq.execute());
  if (!user.null())
    out = PourContext{*user, live_sessions(user_id, from_day, to_day)};
  return out;
}

odb::nullable<User>
Tx::find_user(std::int64_t id)
{
  return load<User>(*db_, id);
}

odb::nullable<User>
Tx::find_user_by_email(const std::string& email)
{
  using q = odb::query<User>;
  std::string key = email;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return first_of(db_->query<User>(q::email_key == key));
}

std::vector<User>
Tx::users()
{
  using q = odb::query<User>;
  return collect(db_->query<User>("ORDER BY" + q::id));
}

void
Tx::insert(User& user)
{
  db_->persist(user);
}

void
Tx::update(const User& user)
{
  db_->update(user);
}

odb::nullable<Bottle>
Tx::find_bottle(std::int64_t id)
{
  return load<Bottle>(*db_, id);
}

odb::nullable<Bottle>
Tx::find_bottle_by_name(std::int64_t user_id, const std::string& name)
{
  using q = odb::query<Bottle>;
  return first_of(db_->query<Bottle>(
      (q::user_id == user_id && q::name == name) + "ORDER BY" + q::id));
}

void
Tx::insert(Bottle& bottle)
{
  db_->persist(bottle);
}

odb::nullable<Session>
Tx::find_session(std::int64_t id)
{
  return load<Session>(*db_, id);
}

std::vector<Session>
Tx::live_sessions_on_day(std::int64_t user_id, std::int32_t local_day)
{
  return live_sessions(user_id, local_day, local_day);
}

std::vector<Session>
Tx::live_sessions(std::int64_t user_id, std::int32_t from_day,
                  std::int32_t to_day)
{
  if (backend_ == Backend::mysql)
    return mysql_text::live_sessions(mysql_connection(), user_id, from_day,
                                     to_day);
  using q = odb::query<Session>;
  DayParams* p = nullptr;
  auto pq = prepared<Session>(*db_, "pourd_live_sessions", p, [](DayParams& v) {
    return (q::user_id == q::_ref(v.user_id) &&
            q::local_day >= q::_ref(v.from_day) &&
            q::local_day <= q::_ref(v.to_day) && q::merged_into.is_null()) +
           "ORDER BY" + q::local_day + "," + q::id;
  });
  p->user_id = user_id;
  p->from_day = from_day;
  p->to_day = to_day;
  return collect(pq.execute());
}

odb::nullable<Session>
Tx::latest_live_session(std::int64_t user_id)
{
  using q = odb::query<Session>;
  return first_of(db_->query<Session>(
      (q::user_id == user_id && q::merged_into.is_null()) + "ORDER BY" +
      q::local_day + "DESC," + q::id + "DESC LIMIT 1"));
}

std::vector<Session>
Tx::all_sessions(std::int64_t user_id)
{
  using q = odb::query<Session>;
  return collect(db_->query<Session>((q::user_id == user_id) + "ORDER BY" +
                                     q::local_day + "," + q::id));
}

void
Tx::insert(Session& session)
{
  if (backend_ == Backend::mysql) {
    Session* one = &session;
    mysql_text::insert_sessions(mysql_connection(), &one, 1);
    return;
  }
  db_->persist(session);
}

void
Tx::update(const Session& session)
{
  if (backend_ == Backend::mysql)
    return mysql_text::update(mysql_connection(), session);
  db_->update(session);
}

odb::nullable<Pour>
Tx::find_pour(std::int64_t id)
{
  return load<Pour>(*db_, id);
}

odb::nullable<Pour>
Tx::find_pour_by_external_id(std::int64_t user_id, const std::string& id)
{
  using q = odb::query<Pour>;
  return first_of(
      db_->query<Pour>(q::user_id == user_id && q::external_id == id));
}

std::vector<Pour>
Tx::pours_of_session(std::int64_t session_id)
{
  using q = odb::query<Pour>;
  return collect(db_->query<Pour>((q::session_id == session_id) + "ORDER BY" +
                                  q::poured_at_ms + "," + q::id));
}

std::vector<Pour>
Tx::pours_of_user(std::int64_t user_id)
{
  using q = odb::query<Pour>;
  return collect(db_->query<Pour>((q::user_id == user_id) + "ORDER BY" +
                                  q::poured_at_ms + "," + q::id));
}

void
Tx::insert(Pour& pour)
{
  if (backend_ == Backend::mysql)
    return mysql_text::insert(mysql_connection(), pour);
  db_->persist(pour);
}

void
Tx::insert_pour(Pour& pour, Session* opened,
                const std::vector<const Session*>& changed)
{
  if (backend_ == Backend::mysql)
    return mysql_text::insert_pour(mysql_connection(), pour, opened, changed);
  if (opened != nullptr) {
    insert(*opened);
    pour.session_id = opened->id;
  }
  insert(pour);
  for (const Session* s : changed)
    update(*s);
}

void
Tx::update(const Pour& pour)
{
  db_->update(pour);
}

bool
Tx::pour_written(std::int64_t user_id, std::int64_t poured_at_ms,
                 std::int64_t token)
{
  // Rare (only after a lost COMMIT), so not prepared; the user and time
  // find the row through user_time_i.
  using q = odb::query<PourCount>;
  return db_->query_value<PourCount>(q::user_id == user_id &&
                                     q::poured_at_ms == poured_at_ms &&
                                     q::write_token == token)
             .count > 0;
}

void
Tx::move_pours(std::int64_t from, std::int64_t to)
{
  db_->execute("UPDATE pourd_pour SET session_id = " + id_text(to) +
               " WHERE session_id = " + id_text(from));
}

// --------------------------------------------------------------------------
// Many sessions in one statement
//
// ODB 2.4 persists one object per statement and its query API cannot
// return rows from an INSERT, so the sessions of a recovery batch go in
// through the connection ODB holds for the transaction: one multi-row
// INSERT ... RETURNING id per chunk (MariaDB 10.5 and SQLite 3.35 have it;
// RETURNING is the only way to learn the ids of a multi-row insert that
// also holds on Galera, where auto-increment values interleave).

namespace {

// Rows per INSERT: within SQLite's 32,766 parameters and far below
// MySQL's packet limit even with long tag lists.
const std::size_t k_insert_chunk = 500;

void
insert_sessions_sqlite(odb::sqlite::connection& c, Session* const* sessions,
                       std::size_t n)
{
  const char* const columns = mysql_text::session_columns;
  const auto column_count =
      std::count(columns, columns + std::strlen(columns), ',') + 1;
  std::string sql = "INSERT INTO pourd_session (";
  sql += columns;
  sql += ") VALUES ";
  for (std::size_t i = 0; i < n; ++i) {
    sql += i == 0 ? "(?" : ",(?";
    for (auto k = 1; k < column_count; ++k)
      sql += ",?";
    sql += ')';
  }
  sql += " RETURNING id";
  sqlite3* h = c.handle();
  sqlite3_stmt* raw = nullptr;
  if (int rc = sqlite3_prepare_v2(h, sql.c_str(), static_cast<int>(sql.size()),
                                  &raw, nullptr))
    odb::sqlite::translate_error(rc, c);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw,
                                                             sqlite3_finalize);
  int k = 0;
  auto num = [&](std::int64_t v) { sqlite3_bind_int64(raw, ++k, v); };
  auto opt = [&](const odb::nullable<std::int64_t>& v) {
    if (v.null())
      sqlite3_bind_null(raw, ++k);
    else
      num(*v);
  };
  auto text = [&](const std::string& v) {
    sqlite3_bind_text(raw, ++k, v.data(), static_cast<int>(v.size()),
                      SQLITE_STATIC);
  };
  for (std::size_t i = 0; i < n; ++i) {
    const Session& s = *sessions[i];
    num(s.user_id);
    text(s.name);
    num(s.origin);
    num(s.local_day);
    num(s.utc_offset_min);
    num(s.created_at_ms);
    opt(s.first_pour_ms);
    opt(s.last_pour_ms);
    opt(s.auto_first_ms);
    opt(s.auto_last_ms);
    num(s.pour_count);
    num(s.total_amount_coz);
    num(s.total_cost_minor);
    num(s.rating_sum_tenths);
    num(s.rated_count);
    text(s.tags);
    text(s.companions);
    text(s.location);
    opt(s.merged_into);
  }
  std::size_t i = 0;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    if (i < n)
      sessions[i]->id = sqlite3_column_int64(raw, 0);
    ++i;
  }
  if (rc != SQLITE_DONE)
    odb::sqlite::translate_error(rc, c);
  if (i != n)
    throw odb::sqlite::database_exception(SQLITE_ERROR, SQLITE_ERROR,
                                          "INSERT ... RETURNING gave " +
                                              std::to_string(i) + " ids for " +
                                              std::to_string(n) + " sessions");
}

} // namespace

void
Tx::insert_sessions(const std::vector<Session*>& sessions)
{
  odb::connection& c = odb::transaction::current().connection();
  for (std::size_t i = 0; i < sessions.size(); i += k_insert_chunk) {
    const std::size_t n = std::min(k_insert_chunk, sessions.size() - i);
    if (backend_ == Backend::mysql)
      mysql_text::insert_sessions(static_cast<odb::mysql::connection&>(c),
                                  sessions.data() + i, n);
    else
      insert_sessions_sqlite(static_cast<odb::sqlite::connection&>(c),
                             sessions.data() + i, n);
  }
}

void
Tx::assign_pours(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& pour_to_session)
{
  if (backend_ == Backend::sqlite) {
    // In process a prepared one-row UPDATE costs no round trip, and SQLite
    // compiles a CASE of a thousand branches slower than it runs this.
    auto& c = static_cast<odb::sqlite::connection&>(
        odb::transaction::current().connection());
    const char sql[] = "UPDATE pourd_pour SET session_id = ? WHERE id = ?";
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(c.handle(), sql, sizeof sql - 1, &raw, nullptr);
    if (rc != SQLITE_OK)
      odb::sqlite::translate_error(rc, c);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(
        raw, sqlite3_finalize);
    for (const auto& a : pour_to_session) {
      sqlite3_bind_int64(raw, 1, a.second);
      sqlite3_bind_int64(raw, 2, a.first);
      rc = sqlite3_step(raw);
      if (rc != SQLITE_DONE)
        odb::sqlite::translate_error(rc, c);
      sqlite3_reset(raw);
    }
    return;
  }
  const std::size_t chunk = 1000;
  for (std::size_t i = 0; i < pour_to_session.size(); i += chunk) {
    const std::size_t end = std::min(pour_to_session.size(), i + chunk);
    std::string cases, ids;
    for (std::size_t k = i; k < end; ++k) {
      const auto& a = pour_to_session[k];
      cases += " WHEN " + id_text(a.first) + " THEN " + id_text(a.second);
      if (k != i)
        ids += ',';
      ids += id_text(a.first);
    }
    db_->execute("UPDATE pourd_pour SET session_id = CASE id" + cases +
                 " END WHERE id IN (" + ids + ")");
  }
}

void
Tx::assign_pours(std::int64_t session_id,
                 const std::vector<std::int64_t>& pour_ids)
{
  // One statement per thousand ids keeps statements short on both backends.
  const std::size_t chunk = 1000;
  for (std::size_t i = 0; i < pour_ids.size(); i += chunk) {
    std::string sql =
        "UPDATE pourd_pour SET session_id = " + id_text(session_id) +
        " WHERE id IN (";
    const std::size_t end = std::min(pour_ids.size(), i + chunk);
    for (std::size_t k = i; k < end; ++k) {
      if (k != i)
        sql += ',';
      sql += id_text(pour_ids[k]);
    }
    sql += ')';
    db_->execute(sql);
  }
}

std::int64_t
Tx::count_orphans()
{
  using q = odb::query<PourCount>;
  return db_->query_value<PourCount>(q::session_id.is_null()).count;
}

std::vector<OrphanGroup>
Tx::orphan_groups()
{
  return collect(db_->query<OrphanGroup>());
}

std::vector<std::int64_t>
Tx::users_with_orphans(std::size_t limit)
{
  std::vector<std::int64_t> out;
  for (const OrphanGroup& g : orphan_groups()) {
    if (out.size() == limit)
      break;
    out.push_back(g.user_id);
  }
  return out;
}

std::vector<Pour>
Tx::orphans_of_user(std::int64_t user_id, std::size_t limit)
{
  using q = odb::query<Pour>;
  return collect(db_->query<Pour>(
      (q::user_id == user_id && q::session_id.is_null()) + "ORDER BY" +
      q::poured_at_ms + "," + q::id + "LIMIT " +
      std::to_string(std::min<std::size_t>(limit, INT64_MAX))));
}

odb::nullable<IdempotencyKey>
Tx::find_idempotency_key(const std::string& key)
{
  return load<IdempotencyKey>(*db_, key);
}

void
Tx::insert(IdempotencyKey& key)
{
  db_->persist(key);
}

void
Tx::insert(SweepRun& run)
{
  db_->persist(run);
}

odb::nullable<Lease>
Tx::find_lease(const std::string& name)
{
  return load<Lease>(*db_, name);
}

void
Tx::insert(Lease& lease)
{
  db_->persist(lease);
}

void
Tx::update(const Lease& lease)
{
  db_->update(lease);
}

bool
Tx::claim_lease(const std::string& name, const std::string& holder,
                std::int64_t now_ms, std::int64_t until_ms,
                const std::string& gone)
{
  // The values go into the SQL text, so only plain characters may.
  auto plain = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
             c == '-';
    });
  };
  if (!plain(name) || !plain(holder) || (!gone.empty() && !plain(gone)))
    throw std::invalid_argument("lease name or holder has characters "
                                "outside [A-Za-z0-9._:-]");
  const std::string or_gone =
      gone.empty() ? std::string() : " OR holder = '" + gone + "'";
  return db_->execute("UPDATE pourd_lease SET holder = '" + holder +
                      "', expires_at_ms = " + id_text(until_ms) +
                      " WHERE name = '" + name + "' AND (holder = '" + holder +
                      "' OR expires_at_ms <= " + id_text(now_ms) + or_gone +
                      ")") == 1;
}

void
Tx::erase_user_data(std::int64_t user_id)
{
  const std::string id = id_text(user_id);
  db_->execute("DELETE FROM pourd_idempotency WHERE pour_id IN "
               "(SELECT id FROM pourd_pour WHERE user_id = " +
               id + ")");
  db_->execute("DELETE FROM pourd_pour WHERE user_id = " + id);
  db_->execute("DELETE FROM pourd_session WHERE user_id = " + id);
  db_->execute("DELETE FROM pourd_bottle WHERE user_id = " + id);
  db_->execute("DELETE FROM pourd_user WHERE id = " + id);
}

void
Tx::execute(const std::string& sql)
{
  db_->execute(sql);
}

// --------------------------------------------------------------------------
// Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl))
{}

Store::~Store() = default;

std::unique_ptr<Store>
Store::open(const ConnectOptions& o)
{
  std::unique_ptr<Impl> impl(new Impl);
  impl->backend = o.backend;
  // On two cores, 16 connections to MariaDB gave more pours per second
  // than 8 or 32 under 16 and 64 concurrent writers, as more commits share
  // each log flush; SQLite runs one write at a time, and more than 4
  // threads waiting for it only cost switches.
  const unsigned fallback = o.backend == Backend::sqlite ? 4 : 16;
  const std::size_t max = o.max_connections ? o.max_connections : fallback;
  impl->connections = o.path == ":memory:" ? 1 : max;
  try {
    if (o.backend == Backend::sqlite) {
      using factory = odb::sqlite::connection_factory;
      std::unique_ptr<factory> f;
      if (o.path == ":memory:")
        f.reset(new odb::sqlite::single_connection_factory);
      else
        f.reset(new SqlitePool(max));
      auto* db = new odb::sqlite::database(
          o.path,
          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
          false, "", std::move(f));
      impl->db.reset(db);
      impl->sqlite = db;
      impl->sqlite_path = o.path;
      odb::sqlite::connection_ptr c(db->connection());
      // SQLite opens a file it may not write read-only, without a word;
      // pourd exists to write, so it says so at once.
      if (sqlite3_db_readonly(c->handle(), "main") == 1) {
        const auto why = sqlite_problem(o.path).second;
        throw DatabaseError(DatabaseError::Kind::read_only,
                            "the SQLite database " + o.path + " is read-only" +
                                (why.empty() ? std::string() : ": " + why));
      }
      if (o.path != ":memory:")
        c->execute("PRAGMA journal_mode = WAL");
    } else {
      const std::string* socket = o.socket.empty() ? nullptr : &o.socket;
      auto* pool = new MysqlPool(max);
      impl->mysql_pool = pool;
      std::unique_ptr<odb::mysql::connection_factory> f(pool);
      impl->db.reset(new odb::mysql::database(
          o.user, o.password, o.database, o.host, o.port, socket, "utf8mb4",
          CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS, std::move(f)));
      // CLIENT_FOUND_ROWS: UPDATE reports the rows it matched, as SQLite
      // does, not only those whose values changed. Multiple statements
      // let a pour and its session go in one round trip (values in them
      // are always escaped). Connect now, so a wrong address or password
      // fails at start-up.
      odb::connection_ptr c = impl->db->connection();
      impl->cluster = galera_node(static_cast<odb::mysql::connection&>(*c));
    }
  } catch (const odb::sqlite::database_exception& e) {
    // SQLite's own words ("unable to open database file") rarely say why.
    const auto why = sqlite_problem(o.path);
    const std::string said = std::string(" (SQLite: ") + e.what() + ")";
    if (e.error() == SQLITE_READONLY ||
        why.first == DatabaseError::Kind::read_only)
      throw DatabaseError(
          DatabaseError::Kind::read_only,
          "the SQLite database " + o.path + " is read-only" +
              (why.second.empty() ? std::string() : ": " + why.second) + said);
    throw DatabaseError(
        DatabaseError::Kind::unavailable,
        "cannot open the SQLite database " + o.path +
            (why.second.empty() ? std::string() : ": " + why.second) + said);
  } catch (const odb::exception& e) {
    throw DatabaseError(DatabaseError::Kind::unavailable,
                        std::string("cannot open the database: ") + e.what());
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Backend
Store::backend() const
{
  return impl_->backend;
}

std::size_t
Store::connections() const
{
  return impl_->connections;
}

void
Store::set_retry_policy(const RetryPolicy& policy)
{
  impl_->policy = policy;
}

void
Store::set_retry_observer(RetryObserver observer)
{
  impl_->observer = std::move(observer);
}

std::int64_t
Store::model_version()
{
  return static_cast<std::int64_t>(
      odb::schema_catalog::current_version(odb::id_sqlite));
}

std::int64_t
Store::schema_version()
{
  std::int64_t v = 0;
  transact(
      [&](Tx&) { v = static_cast<std::int64_t>(impl_->db->schema_version()); });
  return v;
}

void
Store::migrate()
{
  odb::database& db = *impl_->db;
  const std::int64_t want = model_version();
  const std::int64_t have = schema_version();
  if (have > want)
    throw DatabaseError(DatabaseError::Kind::schema,
                        "the database schema is version " +
                            std::to_string(have) + ", newer than version " +
                            std::to_string(want) +
                            " that this pourd knows; upgrade pourd");
  if (have == want)
    return;
  try {
    if (have == 0) {
      if (impl_->backend == Backend::mysql)
        db.connection()->execute(
            "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
      odb::transaction t(impl_->begin());
      odb::schema_catalog::create_schema(db, "", false);
      t.commit();
    } else {
      odb::transaction t(impl_->begin());
      odb::schema_catalog::migrate(db);
      t.commit();
    }
  } catch (const odb::exception& e) {
    throw DatabaseError(DatabaseError::Kind::schema,
                        std::string("cannot create or migrate the schema: ") +
                            e.what());
  }
}

void
Store::check_schema()
{
  const std::int64_t want = model_version();
  const std::int64_t have = schema_version();
  if (have == want)
    return;
  std::string what;
  if (have == 0)
    what = "the database has no pourd schema; run 'pourctl migrate'";
  else if (have < want)
    what = "the database schema is version " + std::to_string(have) +
           ", older than version " + std::to_string(want) +
           "; run 'pourctl migrate'";
  else
    what = "the database schema is version " + std::to_string(have) +
           ", newer than version " + std::to_string(want) +
           " that this pourd knows; upgrade pourd";
  throw DatabaseError(DatabaseError::Kind::schema, what);
}

bool
Store::ping()
{
  try {
    odb::connection_ptr c(impl_->db->connection());
    // A statement that reads a table: a Galera node that left the
    // cluster still answers "SELECT 1" but refuses every table.
    c->execute("SELECT version FROM schema_version");
    // MySQL connections run with autocommit off: end the read, or it
    // holds the table's metadata lock until the connection's next use.
    if (!impl_->sqlite)
      c->execute("COMMIT");
    return true;
  } catch (const odb::exception&) {
    return false;
  }
}

std::string
Store::write_problem()
{
  if (!impl_->sqlite)
    return std::string();
  return sqlite_problem(impl_->sqlite_path).second;
}

void
Store::transact(const std::function<void(Tx&)>& fn, const Landed& landed)
{
  Impl& impl = *impl_;
  for (int attempt = 1;; ++attempt) {
    const char* kind = nullptr;
    std::string what;
    // Set once COMMIT is sent: a connection lost from then on leaves the
    // outcome unknown.
    bool committing = false;
    try {
      std::unique_lock<std::mutex> turn;
      if (impl.sqlite)
        turn = std::unique_lock<std::mutex>(impl.sqlite_writer);
      odb::transaction t(impl.begin());
      Tx tx(*impl.db, impl.backend, impl.cluster);
      fn(tx);
      if (impl.cluster)
        tx.verify_locks();
      committing = true;
      t.commit();
      return;
    } catch (const odb::deadlock& e) {
      kind = "deadlock";
      what = e.what();
    } catch (const odb::timeout& e) {
      kind = "timeout";
      what = e.what();
    } catch (const odb::connection_lost& e) {
      kind = "connection_lost";
      what = e.what();
    } catch (const odb::mysql::database_exception& e) {
      if (e.error() == ER_DUP_ENTRY)
        throw DatabaseError(DatabaseError::Kind::duplicate, e.what());
      if (e.error() == ER_RECORD_FILE_FULL || e.error() == ER_DISK_FULL)
        throw DatabaseError(DatabaseError::Kind::full, e.what());
      if (e.error() == ER_OPTION_PREVENTS_STATEMENT ||
          e.error() == ER_READ_ONLY_MODE)
        throw DatabaseError(DatabaseError::Kind::read_only, e.what());
      kind = mysql_retry_kind(e.error());
      if (!kind)
        throw DatabaseError(DatabaseError::Kind::other, e.what());
      what = e.what();
    } catch (const odb::sqlite::database_exception& e) {
      if (e.error() == SQLITE_CONSTRAINT)
        throw DatabaseError(DatabaseError::Kind::duplicate, e.what());
      if (e.error() == SQLITE_FULL)
        throw DatabaseError(DatabaseError::Kind::full, e.what());
      if (e.error() == SQLITE_READONLY)
        throw DatabaseError(DatabaseError::Kind::read_only, e.what());
      if (e.error() != SQLITE_BUSY && e.error() != SQLITE_LOCKED)
        throw DatabaseError(DatabaseError::Kind::other, e.what());
      kind = "timeout";
      what = e.what();
    } catch (const odb::object_already_persistent& e) {
      throw DatabaseError(DatabaseError::Kind::duplicate, e.what());
    } catch (const odb::exception& e) {
      throw DatabaseError(DatabaseError::Kind::other, e.what());
    }

    if (impl.mysql_pool && std::strcmp(kind, "connection_lost") == 0)
      impl.mysql_pool->connection_lost();
    if (committing && landed && std::strcmp(kind, "connection_lost") == 0) {
      if (impl.observer)
        impl.observer("commit_lost", true);
      if (impl.resolve_commit(landed, what))
        return;
      // It did not take effect: run `fn` again like any lost connection.
    }

    const bool retrying = attempt < impl.policy.attempts;
    if (impl.observer)
      impl.observer(kind, retrying);
    if (!retrying)
      throw DatabaseError(DatabaseError::Kind::unavailable,
                          "the database stayed unavailable after " +
                              std::to_string(attempt) + " tries (" + kind +
                              "): " + what);
    std::this_thread::sleep_for(impl.backoff(attempt));
  }
}

} // namespace orm
} // namespace pourd
