// pourctl as an operator runs it: exit statuses, broken import files,
// the self-test and the debug view, on every backend.
#include "config/database_url.hpp"
#include "engine/rules.hpp"
#include "tests/cli/cli_backends.hpp"
#include "tests/cli/run_pourctl.hpp"
#include "tests/support/databases.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>

namespace pourd::test {
namespace {

namespace json = boost::json;

const std::string k_header =
    "checkin_id,created_at_utc,tz_offset_minutes,drink_name,producer,style,"
    "abv,serving_type,rating,venue_category,comment_length\n";

::testing::AssertionResult
contains(const std::string& text, const std::string& part)
{
  if (text.find(part) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in:\n" << text;
}

class PourctlTest : public ::testing::TestWithParam<std::string>
{
protected:
  void SetUp() override
  {
    POURD_SKIP_UNLESS_AVAILABLE(GetParam());
    url_ = fresh_database_url(GetParam());
    dir_ = temp_dir();
    const RunResult r = run({"migrate"});
    ASSERT_EQ(r.status, 0) << r.err;
  }

  void TearDown() override
  {
    if (!dir_.empty())
      std::filesystem::remove_all(dir_);
  }

  RunResult run(const std::vector<std::string>& args)
  {
    return run_pourctl(url_, args);
  }

  std::string file(const std::string& name, const std::string& content)
  {
    const std::string path = dir_ + "/" + name;
    write_file(path, content);
    return path;
  }

  RunResult import_csv(const std::string& path)
  {
    return run({"import", path, "--format", "drink-log-csv", "--user",
                "drinker@example.test"});
  }

  std::int64_t orphan_count()
  {
    const RunResult r = run({"monitor-orphaned-pours", "--json"});
    EXPECT_EQ(r.status == 0, r.json().at("count").as_int64() == 0);
    return r.json().at("count").as_int64();
  }

  std::string url_;
  std::string dir_;
};

TEST_P(PourctlTest, ExitStatusesFollowTheContract)
{
  EXPECT_EQ(run({"--version"}).status, 0);
  EXPECT_TRUE(contains(run({"--version"}).out, "pourctl "));
  EXPECT_EQ(run({"--help"}).status, 0);

  const RunResult none = run({});
  EXPECT_EQ(none.status, 2);
  const RunResult unknown = run({"frobnicate"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_EQ(run({"user"}).status, 2); // user needs a subcommand

  const RunResult bad_value = run({"--session-timeout=soon", "migrate"});
  EXPECT_EQ(bad_value.status, 2);
  EXPECT_TRUE(contains(bad_value.err, "session_timeout"));

  const RunResult bad_format =
      run({"import", "x.csv", "--format", "xlsx", "--user", "a@b.c"});
  EXPECT_EQ(bad_format.status, 2);
  EXPECT_TRUE(contains(bad_format.err, "--format"));

  // Nothing listens on port 1: the database is unreachable.
  const RunResult down = run_pourctl("mysql://pourd:x@127.0.0.1:1/nothing",
                                     {"monitor-orphaned-pours"});
  EXPECT_EQ(down.status, 3) << down.err;
  EXPECT_TRUE(contains(down.err, "database"));

  // A database without pourd's schema tells the operator to migrate.
  const RunResult bare =
      run_pourctl(fresh_database_url(GetParam()), {"monitor-orphaned-pours"});
  EXPECT_EQ(bare.status, 2);
  EXPECT_TRUE(contains(bare.err, "migrate"));

  const RunResult again = run({"migrate"});
  EXPECT_EQ(again.status, 0);
  EXPECT_TRUE(contains(again.out, "schema is current"));
}

TEST_P(PourctlTest, UsersAndBottles)
{
  RunResult r = run({"user", "add", "Ana@example.test", "--name", "Ana",
                     "--time-zone", "Europe/Oslo"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Europe/Oslo"));

  r = run({"user", "add", "ana@example.test"});
  EXPECT_EQ(r.status, 2) << "an email is taken once";

  r = run({"user", "add", "bob@example.test", "--time-zone", "Mars/Base"});
  EXPECT_EQ(r.status, 2);

  r = run({"bottle", "add", "ana@example.test", "Rye", "--price", "40",
           "--volume-ml", "700"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "price 40.00"));

  r = run({"bottle", "add", "nobody@example.test", "Rye"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "nobody@example.test"));
}

TEST_P(PourctlTest, BrokenFilesGetTheRightAnswer)
{
  struct Case
  {
    std::string name;
    std::string content;
    int status;
    std::string message; // after "PATH"
  };
  const std::string good = "1,2020-01-01T20:00:00Z,60,A,P,,5,,4,,0\n";
  const std::vector<Case> whole_file = {
      {"empty.csv", "", 2, ": the file is empty"},
      {"columns.csv", "id,when,what\n1,2,3\n", 2,
       ":1: wrong header: unknown column 'id'"},
      {"latin1.csv",
       k_header + good + "2,2020-01-01T21:00:00Z,60,Gl\xF6gg,P,,5,,4,,0\n", 2,
       ":3: not valid UTF-8"},
      {"utf16.csv",
       std::string("\xFF\xFE"
                   "c\0",
                   4),
       2, ": the file is UTF-16"},
  };
  for (const Case& c : whole_file) {
    const RunResult r = import_csv(file(c.name, c.content));
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.err;
    EXPECT_TRUE(contains(r.err, dir_ + "/" + c.name + c.message));
    EXPECT_TRUE(contains(r.err, "nothing was imported"));
  }
  EXPECT_EQ(orphan_count(), 0) << "refused files wrote nothing";

  const std::string rows =
      k_header + good +
      "2,2020-01-01T25:00:00Z,60,Bad hour,P,,5,,4,,0\n"
      "3,01/02/2020 20:00,60,Bad date,P,,5,,4,,0\n"
      "4,2020-01-02T20:00:00Z,sixty,Bad offset,P,,5,,4,,0\n"
      "5,2020-01-02T20:00:00Z,60,Bad rating,P,,5,,four,,0\n"
      "6,2020-01-02T20:00:00Z,60,Bad abv,P,,5%,,4,,0\n"
      "7,2020-01-02T20:00:00Z,60,Extra,P,,5,,4,,0,surplus\n"
      "8,2020-01-03T20:00:00Z,60,B,P,,5,,4,,0\n";
  const std::string path = file("rows.csv", rows);
  const RunResult r = import_csv(path);
  EXPECT_EQ(r.status, 1) << r.err;
  for (const char* line : {":3: created_at_utc '2020-01-01T25:00:00Z'",
                           ":4: created_at_utc '01/02/2020 20:00'",
                           ":5: tz_offset_minutes 'sixty'", ":6: rating 'four'",
                           ":7: abv '5%'", ":8: expected 11 fields, found 12"})
    EXPECT_TRUE(contains(r.err, path + std::string(line)));
  EXPECT_TRUE(contains(r.out, "read 8 rows, imported 2, duplicates 0, "
                              "bad 6"));
  EXPECT_EQ(orphan_count(), 2) << "good rows survive bad ones";

  const RunResult again = import_csv(path);
  EXPECT_EQ(again.status, 1);
  EXPECT_TRUE(contains(again.out, "imported 0, duplicates 2, bad 6"));
  EXPECT_EQ(orphan_count(), 2) << "a re-import adds nothing";

  const RunResult missing = import_csv(dir_ + "/nope.csv");
  EXPECT_EQ(missing.status, 2);
  EXPECT_TRUE(contains(missing.err, "cannot read"));

  const RunResult no_user = run({"import", path, "--format", "drink-log-csv"});
  EXPECT_EQ(no_user.status, 2);
  EXPECT_TRUE(contains(no_user.err, "--user"));

  const RunResult bad_amount =
      run({"import", path, "--format", "drink-log-csv", "--user", "a@b.c",
           "--default-amount-oz", "12"});
  EXPECT_EQ(bad_amount.status, 2);
}

TEST_P(PourctlTest, PoursJsonImportsOnceAndReportsBadPours)
{
  const std::string path = file("pours.json", R"([
  {"user_email": "kim@example.test", "bottle_name": "Rye",
   "poured_at": "2019-03-24T17:51:15+09:00", "amount_oz": 1.5,
   "rating": 8.5, "tags": ["Islay"]},
  {"user_email": "kim@example.test", "bottle_name": "Rye",
   "poured_at": "2019-03-24T18:20:00+09:00", "amount_oz": 1.5},
  {"user_email": "kim@example.test", "bottle_name": "Rye",
   "poured_at": "2019-03-24T18:30:00+09:00", "amount_oz": 40}
])");
  RunResult r = run({"import", path, "--format", "pours-json", "--json"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, path + ":7: amount_oz must be a number"));
  json::value summary = r.json();
  EXPECT_EQ(summary.at("imported").as_int64(), 2);
  EXPECT_EQ(summary.at("bad").as_int64(), 1);
  EXPECT_EQ(summary.at("users_created").as_int64(), 1);

  r = run({"import", path, "--format", "pours-json", "--json"});
  summary = r.json();
  EXPECT_EQ(summary.at("imported").as_int64(), 0);
  EXPECT_EQ(summary.at("duplicates").as_int64(), 2);

  const std::string broken = file("broken.json", "[\n  {\"a\": 1},,\n]");
  r = run({"import", broken, "--format", "pours-json"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, broken + ":2: not valid JSON"));

  // Local times keep the offset each pour was written with.
  r = run({"fix-orphaned-pours", "kim@example.test", "--execute"});
  EXPECT_EQ(r.status, 0) << r.err;
  r = run({"debug-pour-sessions", "kim@example.test"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "2019-03-24T17:51:15+09:00"));
  EXPECT_TRUE(contains(r.out, "Session 2019-03-24 17:51 (Recovered)"));
  EXPECT_TRUE(contains(r.out, "1 sessions, 2 pours, 0 orphans, "
                              "0 violations"));
}

TEST_P(PourctlTest, FixNeedsOneTarget)
{
  EXPECT_EQ(run({"fix-orphaned-pours"}).status, 2);
  EXPECT_EQ(run({"fix-orphaned-pours", "a@b.c", "--all"}).status, 2);
  const RunResult r = run({"fix-orphaned-pours", "nobody@example.test"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "nobody@example.test"));
  EXPECT_EQ(run({"fix-orphaned-pours", "--all"}).status, 0);
}

TEST_P(PourctlTest, DebugFlagsViolations)
{
  // Two pours eight hours apart forced into one session, written past
  // the engine: both the gap rule and the statistics are broken.
  auto store = orm::Store::open(config::parse_database_url(url_));
  std::int64_t second_pour = 0;
  store->transact([&](orm::Tx& tx) {
    orm::User u;
    u.email = u.email_key = "broken@example.test";
    u.time_zone = "UTC";
    tx.insert(u);
    orm::Bottle b;
    b.user_id = u.id;
    b.name = "Rye";
    tx.insert(b);
    const std::int64_t t0 = 1'600'000'000'000; // 2020-09-13T12:26:40Z
    orm::Session s;
    s.user_id = u.id;
    s.name = "Session 2020-09-13 12:26";
    s.local_day = engine::local_day(t0, 0, 0);
    s.created_at_ms = t0;
    tx.insert(s);
    for (std::int64_t t : {t0, t0 + 8 * engine::k_hour_ms}) {
      orm::Pour p;
      p.user_id = u.id;
      p.bottle_id = b.id;
      p.session_id = s.id;
      p.poured_at_ms = t;
      p.local_day = s.local_day;
      p.amount_coz = 100;
      tx.insert(p);
      second_pour = p.id;
    }
  });

  RunResult r = run({"debug-pour-sessions", "broken@example.test"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.out, "2020-09-13T20:26:40+00:00"));
  EXPECT_TRUE(contains(r.out, "    !! in the same session as pour"));
  EXPECT_TRUE(contains(r.out, "  !! statistics differ"));

  r = run({"debug-pour-sessions", "broken@example.test", "--json"});
  EXPECT_EQ(r.status, 1);
  const json::value v = r.json();
  EXPECT_GE(v.at("violations").as_array().size(), 2u);
  const json::array& pours = v.at("sessions").at(0).at("pours").as_array();
  ASSERT_EQ(pours.size(), 2u);
  EXPECT_EQ(pours[1].at("id").as_int64(), second_pour);
  EXPECT_EQ(pours[1].at("violations").as_array().size(), 1u);

  EXPECT_EQ(run({"debug-pour-sessions", "nobody@example.test"}).status, 2);
}

TEST_P(PourctlTest, SelfTestPassesAndLeavesNothing)
{
  const RunResult r = run({"test-pour-creation"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  for (const char* check : {"PASS  (a)", "PASS  (b)", "PASS  (c)", "PASS  (d)",
                            "cleaned up", "all checks passed"})
    EXPECT_TRUE(contains(r.out, check));

  auto store = orm::Store::open(config::parse_database_url(url_));
  std::size_t users = 0, orphans = 0;
  store->transact([&](orm::Tx& tx) {
    users = tx.users().size();
    orphans = static_cast<std::size_t>(tx.count_orphans());
  });
  EXPECT_EQ(users, 0u);
  EXPECT_EQ(orphans, 0u);
  // Sessions and pours go with their users (erase_user_data).

  const RunResult j = run({"test-pour-creation", "--json"});
  EXPECT_EQ(j.status, 0);
  EXPECT_TRUE(j.json().at("passed").as_bool());
  EXPECT_EQ(j.json().at("checks").as_array().size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(Backends, PourctlTest,
                         ::testing::ValuesIn(cli_backends()), backend_name);

} // namespace
} // namespace pourd::test
