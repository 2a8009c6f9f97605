#include "orm/mysql_text.hpp"

#include <mysql.h>
#include <odb/exceptions.hxx>
#include <odb/mysql/connection.hxx>
#include <odb/mysql/error.hxx>
#include <odb/mysql/exceptions.hxx>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace pourd {
namespace orm {
namespace mysql_text {

const char* const session_columns =
    "user_id, name, origin, local_day, utc_offset_min, created_at_ms, "
    "first_pour_ms, last_pour_ms, auto_first_ms, auto_last_ms, pour_count, "
    "total_amount_coz, total_cost_minor, rating_sum_tenths, rated_count, "
    "tags, companions, location, merged_into";

namespace {

// The same columns one by one, for UPDATE ... SET.
const char* const k_session_column_names[] = {
    "user_id",          "name",
    "origin",           "local_day",
    "utc_offset_min",   "created_at_ms",
    "first_pour_ms",    "last_pour_ms",
    "auto_first_ms",    "auto_last_ms",
    "pour_count",       "total_amount_coz",
    "total_cost_minor", "rating_sum_tenths",
    "rated_count",      "tags",
    "companions",       "location",
    "merged_into"};

// ---------------------------------------------------------------------------
// Writing values

// Appends SQL values to a statement, each after a separator when one is
// pending: `sql.num(1).text("a")` gives "1,'a'".
class Sql
{
public:
  explicit Sql(MYSQL* h, std::string start = {}) : h_(h), sql_(std::move(start))
  {}

  Sql& raw(const char* s)
  {
    sql_ += s;
    comma_ = false;
    return *this;
  }

  Sql& num(std::int64_t v)
  {
    sep();
    sql_ += std::to_string(v);
    return *this;
  }

  // An SQL expression as a value: `sql.expr("LAST_INSERT_ID()")`.
  Sql& expr(const char* e)
  {
    sep();
    sql_ += e;
    return *this;
  }

  template <typename T> Sql& num(const odb::nullable<T>& v)
  {
    if (v.null()) {
      sep();
      sql_ += "NULL";
      return *this;
    }
    return num(static_cast<std::int64_t>(*v));
  }

  Sql& text(const std::string& v)
  {
    sep();
    const std::size_t at = sql_.size();
    sql_.resize(at + v.size() * 2 + 3);
    sql_[at] = '\'';
    const unsigned long len =
        mysql_real_escape_string(h_, &sql_[at + 1], v.data(), v.size());
    sql_[at + 1 + len] = '\'';
    sql_.resize(at + len + 2);
    return *this;
  }

  Sql& text(const odb::nullable<std::string>& v)
  {
    if (v.null()) {
      sep();
      sql_ += "NULL";
      return *this;
    }
    return text(*v);
  }

  // The next value starts a new list ("name = " of UPDATE ... SET).
  Sql& set(const char* column)
  {
    sep();
    sql_ += column;
    sql_ += " = ";
    comma_ = false;
    return *this;
  }

  const std::string& str() const { return sql_; }

private:
  void sep()
  {
    if (comma_)
      sql_ += ',';
    comma_ = true;
  }

  MYSQL* h_;
  std::string sql_;
  bool comma_ = false;
};

// The session's values in the order of session_columns; `set` names each
// column before its value.
void
session_values(Sql& sql, const Session& s, bool set)
{
  std::size_t k = 0;
  auto col = [&]() -> Sql& {
    const char* name = k_session_column_names[k++];
    return set ? sql.set(name) : sql;
  };
  col().num(s.user_id);
  col().text(s.name);
  col().num(s.origin);
  col().num(s.local_day);
  col().num(s.utc_offset_min);
  col().num(s.created_at_ms);
  col().num(s.first_pour_ms);
  col().num(s.last_pour_ms);
  col().num(s.auto_first_ms);
  col().num(s.auto_last_ms);
  col().num(s.pour_count);
  col().num(s.total_amount_coz);
  col().num(s.total_cost_minor);
  col().num(s.rating_sum_tenths);
  col().num(s.rated_count);
  col().text(s.tags);
  col().text(s.companions);
  col().text(s.location);
  col().num(s.merged_into);
}

// ---------------------------------------------------------------------------
// Running statements and reading rows

using Result = std::unique_ptr<MYSQL_RES, void (*)(MYSQL_RES*)>;

void
run(odb::mysql::connection& c, const std::string& sql)
{
  c.clear(); // no ODB result may be pending on the connection
  if (mysql_real_query(c.handle(), sql.data(), sql.size()) != 0)
    odb::mysql::translate_error(c);
}

Result
query(odb::mysql::connection& c, const std::string& sql)
{
  run(c, sql);
  MYSQL_RES* r = mysql_store_result(c.handle());
  if (r == nullptr)
    odb::mysql::translate_error(c);
  return Result(r, mysql_free_result);
}

// Reads the columns of one row in order.
class Row
{
public:
  Row(MYSQL_ROW row, const unsigned long* lengths)
      : row_(row), lengths_(lengths)
  {}

  template <typename T> void num(T& out)
  {
    out = static_cast<T>(cell() ? std::strtoll(row_[k_], nullptr, 10) : 0);
    ++k_;
  }

  template <typename T> void num(odb::nullable<T>& out)
  {
    if (cell())
      out = static_cast<T>(std::strtoll(row_[k_], nullptr, 10));
    else
      out.reset();
    ++k_;
  }

  void text(std::string& out)
  {
    if (cell())
      out.assign(row_[k_], lengths_[k_]);
    else
      out.clear();
    ++k_;
  }

  // Whether the next column is NULL.
  bool null() const { return !cell(); }

private:
  bool cell() const { return row_[k_] != nullptr; }

  MYSQL_ROW row_;
  const unsigned long* lengths_;
  std::size_t k_ = 0;
};

Session
read_session(Row& r)
{
  Session s;
  r.num(s.id);
  r.num(s.user_id);
  r.text(s.name);
  r.num(s.origin);
  r.num(s.local_day);
  r.num(s.utc_offset_min);
  r.num(s.created_at_ms);
  r.num(s.first_pour_ms);
  r.num(s.last_pour_ms);
  r.num(s.auto_first_ms);
  r.num(s.auto_last_ms);
  r.num(s.pour_count);
  r.num(s.total_amount_coz);
  r.num(s.total_cost_minor);
  r.num(s.rating_sum_tenths);
  r.num(s.rated_count);
  r.text(s.tags);
  r.text(s.companions);
  r.text(s.location);
  r.num(s.merged_into);
  return s;
}

} // namespace

odb::nullable<PourContext>
pour_context(odb::mysql::connection& c, std::int64_t user_id,
             std::int64_t bottle_id, std::int32_t from_day, std::int32_t to_day,
             bool for_update)
{
  // The user and the bottle are read by primary key; the sessions join
  // them, so a user with none that day still gives one row. The sessions
  // are sorted here: ORDER BY on the joined table would make the server
  // sort through a temporary table, on disk since sessions hold TEXT.
  Sql sql(c.handle(), "SELECT u.id, u.time_zone, b.id, b.price_minor, "
                      "b.volume_ml, s.id");
  for (const char* column : k_session_column_names)
    sql.raw(", s.").raw(column);
  sql.raw(" FROM pourd_user u JOIN pourd_bottle b ON b.user_id = u.id"
          " LEFT JOIN pourd_session s ON s.user_id = u.id"
          " AND s.local_day BETWEEN ")
      .num(from_day)
      .raw(" AND ")
      .num(to_day)
      .raw(" AND s.merged_into IS NULL WHERE u.id = ")
      .num(user_id)
      .raw(" AND b.id = ")
      .num(bottle_id);
  if (for_update)
    sql.raw(" FOR UPDATE");
  Result res = query(c, sql.str());

  odb::nullable<PourContext> out;
  while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
    Row r(row, mysql_fetch_lengths(res.get()));
    UserBottle ub;
    r.num(ub.user_id);
    r.text(ub.time_zone);
    r.num(ub.bottle_id);
    r.num(ub.price_minor);
    r.num(ub.volume_ml);
    if (out.null())
      out = PourContext{ub, {}};
    if (!r.null())
      out->sessions.push_back(read_session(r));
  }
  if (!out.null())
    std::sort(out->sessions.begin(), out->sessions.end(),
              [](const Session& a, const Session& b) {
                return a.local_day != b.local_day ? a.local_day < b.local_day
                                                  : a.id < b.id;
              });
  return out;
}

std::vector<Session>
live_sessions(odb::mysql::connection& c, std::int64_t user_id,
              std::int32_t from_day, std::int32_t to_day)
{
  Sql sql(c.handle(), "SELECT id, ");
  sql.raw(session_columns)
      .raw(" FROM pourd_session WHERE user_id = ")
      .num(user_id)
      .raw(" AND local_day BETWEEN ")
      .num(from_day)
      .raw(" AND ")
      .num(to_day)
      .raw(" AND merged_into IS NULL ORDER BY local_day, id");
  Result res = query(c, sql.str());
  std::vector<Session> out;
  while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
    Row r(row, mysql_fetch_lengths(res.get()));
    out.push_back(read_session(r));
  }
  return out;
}

namespace {

// INSERT of the pour; its session is the one the statement before gave an
// id to when `after_session` is set.
void
pour_insert(Sql& sql, const Pour& p, bool after_session)
{
  sql.raw("INSERT INTO pourd_pour (user_id, bottle_id, session_id, "
          "poured_at_ms, utc_offset_min, local_day, amount_coz, "
          "rating_tenths, cost_minor, notes, location, tags, companions, "
          "auto_grouped, own_offset, write_token, external_id, "
          "created_at_ms) VALUES (")
      .num(p.user_id)
      .num(p.bottle_id);
  if (after_session)
    sql.expr("LAST_INSERT_ID()");
  else
    sql.num(p.session_id);
  sql.num(p.poured_at_ms)
      .num(p.utc_offset_min)
      .num(p.local_day)
      .num(p.amount_coz)
      .num(p.rating_tenths)
      .num(p.cost_minor)
      .text(p.notes)
      .text(p.location)
      .text(p.tags)
      .text(p.companions)
      .num(p.auto_grouped ? 1 : 0)
      .num(p.own_offset ? 1 : 0)
      .num(p.write_token)
      .text(p.external_id)
      .num(p.created_at_ms)
      .raw(")");
}

void
session_insert(Sql& sql, const Session& s)
{
  sql.raw("INSERT INTO pourd_session (").raw(session_columns).raw(") VALUES (");
  session_values(sql, s, false);
  sql.raw(")");
}

void
session_update(Sql& sql, const Session& s)
{
  sql.raw("UPDATE pourd_session SET ");
  session_values(sql, s, true);
  sql.raw(" WHERE id = ").num(s.id);
}

// What one statement of several reported.
struct Outcome
{
  std::int64_t insert_id;
  std::uint64_t affected_rows;
};

// Runs statements that return no rows, separated by ';', in one round
// trip. Every result is read before any is judged, so the connection is
// ready for ROLLBACK whatever went wrong.
std::vector<Outcome>
run_all(odb::mysql::connection& c, const std::string& sql)
{
  run(c, sql);
  MYSQL* h = c.handle();
  std::vector<Outcome> out;
  for (;;) {
    out.push_back({static_cast<std::int64_t>(mysql_insert_id(h)),
                   mysql_affected_rows(h)});
    const int next = mysql_next_result(h);
    if (next < 0)
      return out;
    // A failed statement ends the run: the server skips the rest.
    if (next > 0)
      odb::mysql::translate_error(c);
  }
}

// ODB connects with CLIENT_FOUND_ROWS: an UPDATE counts the rows it
// matched, not only those it changed.
void
expect_row(const Outcome& o)
{
  if (o.affected_rows == 0)
    throw odb::object_not_persistent();
}

} // namespace

void
insert(odb::mysql::connection& c, Pour& p)
{
  Sql sql(c.handle());
  pour_insert(sql, p, false);
  run(c, sql.str());
  // One row, so the id is the one this statement was given, on Galera too.
  p.id = static_cast<std::int64_t>(mysql_insert_id(c.handle()));
}

void
update(odb::mysql::connection& c, const Session& s)
{
  Sql sql(c.handle());
  session_update(sql, s);
  run(c, sql.str());
  expect_row({0, mysql_affected_rows(c.handle())});
}

void
insert_pour(odb::mysql::connection& c, Pour& pour, Session* opened,
            const std::vector<const Session*>& changed)
{
  Sql sql(c.handle());
  if (opened != nullptr) {
    session_insert(sql, *opened);
    sql.raw(";");
  }
  pour_insert(sql, pour, opened != nullptr);
  for (const Session* s : changed) {
    sql.raw(";");
    session_update(sql, *s);
  }
  const std::vector<Outcome> done = run_all(c, sql.str());

  // Single-row inserts, so each id is the one its statement was given.
  std::size_t k = 0;
  if (opened != nullptr) {
    opened->id = done.at(k++).insert_id;
    pour.session_id = opened->id;
  }
  pour.id = done.at(k++).insert_id;
  while (k < done.size())
    expect_row(done[k++]);
}

void
insert_sessions(odb::mysql::connection& c, Session* const* sessions,
                std::size_t n)
{
  Sql sql(c.handle(), "INSERT INTO pourd_session (");
  sql.raw(session_columns).raw(") VALUES ");
  for (std::size_t i = 0; i < n; ++i) {
    sql.raw(i == 0 ? "(" : ",(");
    session_values(sql, *sessions[i], false);
    sql.raw(")");
  }
  sql.raw(" RETURNING id");
  Result res = query(c, sql.str());
  std::size_t i = 0;
  while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
    if (i == n || row[0] == nullptr)
      break;
    sessions[i++]->id = std::strtoll(row[0], nullptr, 10);
  }
  if (i != n)
    throw odb::mysql::database_exception(0, "HY000",
                                         "INSERT ... RETURNING gave " +
                                             std::to_string(i) + " ids for " +
                                             std::to_string(n) + " sessions");
}

} // namespace mysql_text
} // namespace orm
} // namespace pourd
