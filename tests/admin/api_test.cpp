// The admin API end to end: the real pourd binary on loopback, on every
// backend of the run.
#include "tests/admin/fixture.hpp"
#include "tests/support/databases.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace pourd::test {
namespace {

namespace bj = boost::json;

TEST(ApiTest, HealthAndReadiness)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());

    const HttpResult health = http(run.daemon->port(), "GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.json().at("status"), "ok");

    const HttpResult ready = http(run.daemon->port(), "GET", "/readyz");
    EXPECT_EQ(ready.status, 200);
    EXPECT_EQ(ready.json().at("status"), "ready");
  }
}

TEST(ApiTest, CurlWalkThroughGroupsTwoPoursIntoOneSession)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;

    const HttpResult user =
        api.post("/api/users", R"({"email":"Ann@Example.com","name":"Ann",)"
                               R"("time_zone":"Europe/Berlin"})");
    ASSERT_EQ(user.status, 201) << user.body;
    const auto u = user.json().at("user");
    EXPECT_EQ(u.at("email"), "Ann@Example.com");
    EXPECT_EQ(u.at("time_zone"), "Europe/Berlin");
    const std::int64_t uid = u.at("id").as_int64();

    const HttpResult bottle = api.post(
        "/api/bottles", R"({"user_id":)" + std::to_string(uid) +
                            R"(,"name":"Laphroaig 10","price":59.99})");
    ASSERT_EQ(bottle.status, 201) << bottle.body;
    EXPECT_EQ(bottle.json().at("bottle").at("price"), 59.99);
    EXPECT_EQ(bottle.json().at("bottle").at("volume_ml"), 750);
    const std::int64_t bid = bottle.json().at("bottle").at("id").as_int64();

    bj::object first = pour_body(uid, bid, "2026-12-03T21:15:00+01:00", 1.5);
    first["rating"] = 8.5;
    first["tags"] = bj::array{"Peaty", " smoky "};
    first["location"] = "bar";
    const HttpResult p1 = api.post("/api/pours", first);
    ASSERT_EQ(p1.status, 201) << p1.body;
    const auto pour = p1.json().at("pour");
    EXPECT_EQ(pour.at("poured_at"), "2026-12-03T20:15:00Z");
    EXPECT_EQ(pour.at("local_time"), "2026-12-03T21:15:00+01:00");
    EXPECT_EQ(pour.at("amount_oz"), 1.5);
    EXPECT_EQ(pour.at("rating"), 8.5);
    EXPECT_EQ(pour.at("location"), "Bar");
    EXPECT_EQ(pour.at("tags"), (bj::array{"peaty", "smoky"}));
    // 59.99 for 25.36 oz: 1.5 oz cost 3.548..., rounded half up.
    EXPECT_EQ(pour.at("cost"), 3.55);
    EXPECT_EQ(p1.header("location"),
              "/api/sessions/" +
                  std::to_string(pour.at("session_id").as_int64()));

    // A "Z" time names only the instant: Berlin decides its local day.
    bj::object second = pour_body(uid, bid, "2026-12-03T21:45:00Z", 1);
    second["rating"] = 7;
    const HttpResult p2 = api.post("/api/pours", second);
    ASSERT_EQ(p2.status, 201) << p2.body;
    EXPECT_EQ(p2.json().at("pour").at("local_time"),
              "2026-12-03T22:45:00+01:00");
    EXPECT_EQ(p2.json().at("pour").at("session_id"), pour.at("session_id"));

    const HttpResult list = api.get("/api/users/" + std::to_string(uid) +
                                    "/sessions?from=2026-12-01&to=2026-12-31");
    ASSERT_EQ(list.status, 200) << list.body;
    const auto sessions = list.json().at("sessions").as_array();
    ASSERT_EQ(sessions.size(), 1u);
    const auto& s = sessions[0];
    EXPECT_EQ(s.at("name"), "Session 2026-12-03 21:15");
    EXPECT_EQ(s.at("origin"), "auto");
    EXPECT_EQ(s.at("local_day"), "2026-12-03");
    EXPECT_EQ(s.at("started_at"), "2026-12-03T20:15:00Z");
    EXPECT_EQ(s.at("last_pour_at"), "2026-12-03T21:45:00Z");
    EXPECT_EQ(s.at("pour_count"), 2);
    EXPECT_EQ(s.at("total_amount_oz"), 2.5);
    EXPECT_EQ(s.at("total_cost"), 5.92);
    EXPECT_EQ(s.at("average_rating"), 7.8); // (8.5 + 7) / 2 = 7.75
    EXPECT_EQ(s.at("tags"), (bj::array{"peaty", "smoky"}));
    EXPECT_EQ(s.at("companions"), bj::array{});
    EXPECT_TRUE(s.as_object().contains("location"));

    const HttpResult other_month = api.get("/api/users/" + std::to_string(uid) +
                                           "/sessions?from=2027-01-01");
    ASSERT_EQ(other_month.status, 200);
    EXPECT_TRUE(other_month.json().at("sessions").as_array().empty());

    const HttpResult show =
        api.get("/api/sessions/" + std::to_string(s.at("id").as_int64()));
    ASSERT_EQ(show.status, 200) << show.body;
    EXPECT_EQ(show.json().at("session").at("pour_count"), 2);
    EXPECT_EQ(show.json().at("pours").as_array().size(), 2u);
  }
}

TEST(ApiTest, CurrentSessionIsCreatedOnceThenReused)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;
    const auto uid = make_user(api, "cur@example.com");

    const std::string body = R"({"user_id":)" + std::to_string(uid) +
                             R"(,"location":"Home","tags":["Friday"]})";
    const HttpResult first = api.post("/api/sessions/current", body);
    ASSERT_EQ(first.status, 201) << first.body;
    const auto s = first.json().at("session");
    EXPECT_EQ(s.at("origin"), "current");
    EXPECT_EQ(s.at("pour_count"), 0);
    EXPECT_TRUE(s.at("last_pour_at").is_null());
    EXPECT_TRUE(s.at("average_rating").is_null());
    EXPECT_EQ(s.at("location"), "Home");
    EXPECT_EQ(s.at("tags"), bj::array{"friday"});

    const HttpResult again = api.post("/api/sessions/current",
                                      R"({"user_id":)" + std::to_string(uid) +
                                          R"(,"tags":["late"]})");
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.json().at("session").at("id"), s.at("id"));
    EXPECT_EQ(again.json().at("session").at("tags"),
              (bj::array{"friday", "late"}));
  }
}

TEST(ApiTest, IdempotentReplayAnswersTheFirstPourOnce)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;
    const auto uid = make_user(api, "idem@example.com");
    const auto bid = make_bottle(api, uid);

    const auto body = pour_body(uid, bid, "2026-11-20T19:00:00Z");
    const Headers key{{"Idempotency-Key", "retry-42"}};
    const HttpResult first = api.post("/api/pours", body, key);
    ASSERT_EQ(first.status, 201) << first.body;
    const HttpResult replay = api.post("/api/pours", body, key);
    EXPECT_EQ(replay.status, 200) << replay.body;
    EXPECT_EQ(replay.body, first.body);

    auto changed = body;
    changed["amount_oz"] = 2.0;
    const HttpResult conflict = api.post("/api/pours", changed, key);
    EXPECT_EQ(conflict.status, 409) << conflict.body;
    EXPECT_EQ(conflict.header("content-type"), "application/problem+json");

    auto store = run.open_store();
    const Counts c = count_rows(*store);
    EXPECT_EQ(c.pours, 1u);
    EXPECT_EQ(c.sessions, 1u);
  }
}

TEST(ApiTest, MergedSessionRedirectsToItsSurvivor)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;
    const auto uid = make_user(api, "merge@example.com");
    const auto bid = make_bottle(api, uid);

    // 10:00 and 16:00 are 6 h apart (T = 4 h): two sessions. A late
    // pour at 13:00 is within 4 h of both and merges them.
    const HttpResult a =
        api.post("/api/pours", pour_body(uid, bid, "2026-11-21T10:00:00Z"));
    const HttpResult b =
        api.post("/api/pours", pour_body(uid, bid, "2026-11-21T16:00:00Z"));
    ASSERT_EQ(a.status, 201);
    ASSERT_EQ(b.status, 201);
    const auto first = a.json().at("session").at("id").as_int64();
    const auto later = b.json().at("session").at("id").as_int64();
    ASSERT_NE(first, later);

    const HttpResult bridge =
        api.post("/api/pours", pour_body(uid, bid, "2026-11-21T13:00:00Z"));
    ASSERT_EQ(bridge.status, 201) << bridge.body;
    EXPECT_EQ(bridge.json().at("session").at("id"), first);
    EXPECT_EQ(bridge.json().at("session").at("pour_count"), 3);

    const HttpResult moved = api.get("/api/sessions/" + std::to_string(later));
    EXPECT_EQ(moved.status, 308) << moved.body;
    EXPECT_EQ(moved.header("location"),
              "/api/sessions/" + std::to_string(first));
    EXPECT_EQ(moved.json().at("merged_into"), first);

    const HttpResult list =
        api.get("/api/users/" + std::to_string(uid) + "/sessions");
    EXPECT_EQ(list.json().at("sessions").as_array().size(), 1u);
  }
}

TEST(ApiTest, OrphansAreListedByUser)
{
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;
    const auto uid = make_user(api, "orphan@example.com");
    const auto bid = make_bottle(api, uid);

    const HttpResult none = api.get("/api/orphans");
    ASSERT_EQ(none.status, 200);
    EXPECT_EQ(none.json().at("count"), 0);
    EXPECT_TRUE(none.json().at("by_user").as_array().empty());

    auto store = run.open_store();
    store->transact([&](orm::Tx& tx) {
      for (int i = 0; i < 3; ++i) {
        orm::Pour p;
        p.user_id = uid;
        p.bottle_id = bid;
        p.poured_at_ms = 1'790'000'000'000 + i * 60'000;
        p.amount_coz = 150;
        tx.insert(p);
      }
    });

    const HttpResult some = api.get("/api/orphans");
    ASSERT_EQ(some.status, 200);
    EXPECT_EQ(some.json().at("count"), 3);
    const auto g = some.json().at("by_user").as_array().at(0);
    EXPECT_EQ(g.at("user_id"), uid);
    EXPECT_EQ(g.at("email"), "orphan@example.com");
    EXPECT_EQ(g.at("count"), 3);
    EXPECT_EQ(g.at("oldest"), "2026-09-21T14:13:20Z");
  }
}

TEST(ApiTest, KeepAliveServesSeveralRequestsOnOneConnection)
{
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto answers = pipeline(run.daemon->port(), {get, get, get});
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& a : answers)
    EXPECT_EQ(a.status, 200);
}

TEST(ApiTest, ErrorsAreProblemDetails)
{
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;

  const HttpResult missing = api.get("/api/sessions/999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("content-type"), "application/problem+json");
  const auto p = missing.json();
  EXPECT_EQ(p.at("status"), 404);
  EXPECT_EQ(p.at("title"), "Not Found");
  EXPECT_TRUE(p.at("detail").is_string());

  const HttpResult invalid = api.post("/api/users", R"({"email":7})");
  EXPECT_EQ(invalid.status, 422);
  const auto errors = invalid.json().at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].at("field"), "email");
  EXPECT_EQ(errors[0].at("message"), "must be a string");

  const HttpResult unknown_path = http(run.daemon->port(), "GET", "/nope");
  EXPECT_EQ(unknown_path.status, 404);

  const HttpResult wrong_method =
      http(run.daemon->port(), "DELETE", "/api/orphans");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "GET");

  const HttpResult no_token = http(run.daemon->port(), "GET", "/api/orphans");
  EXPECT_EQ(no_token.status, 401);
  EXPECT_EQ(no_token.header("www-authenticate"),
            "Bearer realm=\"pourd-admin\"");

  const HttpResult dup = api.post("/api/users", R"({"email":"d@x.io"})");
  EXPECT_EQ(dup.status, 201);
  const HttpResult dup2 = api.post("/api/users", R"({"email":"D@X.io"})");
  EXPECT_EQ(dup2.status, 409) << dup2.body;
}

} // namespace
} // namespace pourd::test
