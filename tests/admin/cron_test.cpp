// The cron route and the timer sweep, against orphans written behind the
// daemon's back.
#include "tests/admin/fixture.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace pourd::test {
namespace {

const std::string k_cron = "/api/cron/check-orphaned-pours";

// Inserts `n` orphans for the user: pours with no session, as a legacy
// import or another writer would leave them.
void
insert_orphans(orm::Store& store, std::int64_t user, std::int64_t bottle, int n,
               std::int64_t first_ms)
{
  store.transact([&](orm::Tx& tx) {
    for (int i = 0; i < n; ++i) {
      orm::Pour p;
      p.user_id = user;
      p.bottle_id = bottle;
      p.poured_at_ms = first_ms + i * 20 * 60'000;
      p.amount_coz = 100;
      tx.insert(p);
    }
  });
}

TEST(CronTest, TokenIsCheckedAndTheSweepAnswersCounts)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const auto port = run.daemon->port();
    const auto uid = make_user(*run.api, "cron@example.com");
    const auto bid = make_bottle(*run.api, uid);

    const HttpResult none = http(port, "GET", k_cron);
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"pourd-cron\"");
    const HttpResult wrong =
        http(port, "POST", k_cron, "", {{"Authorization", "Bearer nope"}});
    EXPECT_EQ(wrong.status, 401);
    const HttpResult case_of_token =
        http(port, "GET", k_cron, "",
             {{"Authorization", "Bearer CRON-SECRET-FOR-TESTS"}});
    EXPECT_EQ(case_of_token.status, 401);
    const HttpResult admin =
        http(port, "GET", k_cron, "",
             {{"Authorization", "Bearer " + run.daemon->admin_token()}});
    EXPECT_EQ(admin.status, 401);

    auto store = run.open_store();
    insert_orphans(*store, uid, bid, 4, 1'790'000'000'000);
    ASSERT_EQ(count_rows(*store).orphans, 4u);

    // The scheme name is case-insensitive.
    const HttpResult ok =
        http(port, "POST", k_cron, "",
             {{"Authorization", std::string("bEaReR ") + k_cron_secret}});
    ASSERT_EQ(ok.status, 200) << ok.body;
    const auto v = ok.json();
    EXPECT_EQ(v.at("orphaned_pours_found"), 4);
    EXPECT_EQ(v.at("fixed"), 4);
    EXPECT_EQ(v.at("remaining"), 0);
    EXPECT_TRUE(v.at("message").is_string());
    EXPECT_TRUE(v.at("timestamp").is_string());
    EXPECT_EQ(count_rows(*store).orphans, 0u);

    const HttpResult get =
        http(port, "GET", k_cron, "",
             {{"Authorization", std::string("Bearer ") + k_cron_secret}});
    ASSERT_EQ(get.status, 200);
    EXPECT_EQ(get.json().at("orphaned_pours_found"), 0);

    // Sessions made by the sweep are marked recovered.
    const HttpResult list =
        run.api->get("/api/users/" + std::to_string(uid) + "/sessions");
    ASSERT_EQ(list.status, 200);
    const auto sessions = list.json().at("sessions").as_array();
    ASSERT_EQ(sessions.size(), 1u);
    EXPECT_EQ(sessions[0].at("origin"), "recovered");
    EXPECT_EQ(sessions[0].at("pour_count"), 4);

    EXPECT_TRUE(run.daemon->wait_log(
        "event=orphan_sweep trigger=cron found=4 fixed=4 remaining=0",
        std::chrono::seconds(5)));
    // The secret never reaches the log.
    EXPECT_EQ(run.daemon->log().find(k_cron_secret), std::string::npos);
    EXPECT_EQ(run.daemon->log().find(run.daemon->admin_token()),
              std::string::npos);
  }
}

TEST(CronTest, WithoutASecretTheRouteIsClosed)
{
  DaemonOptions options;
  options.cron_secret.clear();
  Running run = start("sqlite", options);
  ASSERT_TRUE(run.daemon->started());
  const auto port = run.daemon->port();
  EXPECT_TRUE(run.daemon->log().find("no cron secret configured") !=
              std::string::npos);

  const HttpResult none = http(port, "GET", k_cron);
  EXPECT_EQ(none.status, 503);
  const HttpResult any =
      http(port, "POST", k_cron, "", {{"Authorization", "Bearer "}});
  EXPECT_EQ(any.status, 503);
  const HttpResult guess =
      http(port, "POST", k_cron, "", {{"Authorization", "Bearer x"}});
  EXPECT_EQ(guess.status, 503);
  EXPECT_EQ(guess.header("content-type"), "application/problem+json");
}

TEST(CronTest, OverlappingCallsShareOneSweep)
{
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const auto port = run.daemon->port();
  const auto uid = make_user(*run.api, "overlap@example.com");
  const auto bid = make_bottle(*run.api, uid);
  auto store = run.open_store();
  insert_orphans(*store, uid, bid, 300, 1'780'000'000'000);

  std::vector<std::future<HttpResult>> calls;
  for (int i = 0; i < 4; ++i)
    calls.push_back(std::async(std::launch::async, [port] {
      return http(port, "POST", k_cron, "",
                  {{"Authorization", std::string("Bearer ") + k_cron_secret}});
    }));
  std::int64_t fixed = 0;
  for (auto& c : calls) {
    const HttpResult r = c.get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("remaining"), 0);
    fixed += r.json().at("fixed").as_int64();
  }
  // However the calls overlapped, the orphans were fixed exactly once.
  EXPECT_EQ(count_rows(*store).orphans, 0u);
  const std::string log = run.daemon->log();
  int sweeps_that_fixed = 0;
  for (auto at = log.find("trigger=cron found=300 fixed=300");
       at != std::string::npos;
       at = log.find("trigger=cron found=300 fixed=300", at + 1))
    ++sweeps_that_fixed;
  EXPECT_EQ(sweeps_that_fixed, 1);
  EXPECT_GE(fixed, 300);
}

TEST(CronTest, TimerSweepFixesOrphansWrittenBehindTheDaemonsBack)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    DaemonOptions options;
    options.args = {"--sweep-interval=1s", "--sweep-batch=7"};
    Running run = start(backend, options);
    ASSERT_TRUE(run.daemon->started());
    const auto uid =
        make_user(*run.api, "timer@example.com", "America/New_York");
    const auto bid = make_bottle(*run.api, uid);

    auto store = run.open_store();
    // Two evenings: 10 pours 20 min apart each, a day apart.
    // One transaction, so no sweep sees half of them.
    store->transact([&](orm::Tx& tx) {
      for (int day = 0; day < 2; ++day)
        for (int i = 0; i < 10; ++i) {
          orm::Pour p;
          p.user_id = uid;
          p.bottle_id = bid;
          p.poured_at_ms =
              1'790'020'000'000 + day * 86'400'000 + i * 20 * 60'000;
          p.amount_coz = 100;
          tx.insert(p);
        }
    });
    ASSERT_EQ(count_rows(*store).orphans, 20u);

    // Bounded: the timer runs every second.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count_rows(*store).orphans != 0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(count_rows(*store).orphans, 0u);

    EXPECT_TRUE(run.daemon->wait_log(
        "event=orphan_sweep trigger=timer found=20 fixed=20 remaining=0 "
        "sessions_created=2",
        std::chrono::seconds(5)))
        << run.daemon->log();

    const HttpResult list =
        run.api->get("/api/users/" + std::to_string(uid) + "/sessions");
    const auto sessions = list.json().at("sessions").as_array();
    ASSERT_EQ(sessions.size(), 2u);
    for (const auto& s : sessions) {
      EXPECT_EQ(s.at("origin"), "recovered");
      EXPECT_EQ(s.at("pour_count"), 10);
      EXPECT_NE(std::string(s.at("name").as_string()).find("(Recovered)"),
                std::string::npos);
    }

    const HttpResult metrics = http(run.daemon->port(), "GET", "/metrics");
    EXPECT_NE(metrics.body.find("pourd_orphans_fixed_total 20"),
              std::string::npos)
        << metrics.body;
    EXPECT_NE(metrics.body.find(
                  "pourd_sessions_created_total{origin=\"recovered\"} 2"),
              std::string::npos);
  }
}

} // namespace
} // namespace pourd::test
