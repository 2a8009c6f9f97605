// Pieces of the admin endpoint that need no running daemon: JSON shapes,
// bearer parsing, strict bodies and the router's decisions.
#include "admin/api.hpp"
#include "admin/auth.hpp"
#include "admin/body.hpp"
#include "admin/json.hpp"
#include "admin/metrics.hpp"
#include "admin/problem.hpp"
#include "admin/router.hpp"
#include "tests/support/databases.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace pourd::test {
namespace {

namespace bj = boost::json;
using admin::Request;
using admin::Response;

TEST(JsonTest, NumbersAreWrittenInPlainDecimals)
{
  bj::object o;
  o["a"] = json::hundredths(150);
  o["b"] = json::hundredths(10);
  o["c"] = json::hundredths(2500);
  o["d"] = json::hundredths(-1235);
  o["e"] = bj::array{1, "x", nullptr, true};
  EXPECT_EQ(json::serialize(o),
            R"({"a":1.5,"b":0.1,"c":25,"d":-12.35,"e":[1,"x",null,true]})");
}

TEST(JsonTest, SessionShape)
{
  orm::Session s;
  s.id = 7;
  s.user_id = 3;
  s.name = "Session 2026-12-03 21:15";
  s.origin = static_cast<int>(orm::Origin::recovered);
  s.local_day = 20'790; // 2026-12-03
  s.created_at_ms = 1'796'328'900'000;
  s.pour_count = 2;
  s.total_amount_coz = 250;
  s.total_cost_minor = 592;
  s.rating_sum_tenths = 155;
  s.rated_count = 2;
  s.tags = "peaty\nsmoky";
  const auto o = json::to_json(s);
  EXPECT_EQ(o.at("origin"), "recovered");
  EXPECT_EQ(o.at("local_day"), "2026-12-03");
  EXPECT_TRUE(o.at("last_pour_at").is_null());
  EXPECT_EQ(o.at("started_at"), o.at("created_at"));
  EXPECT_EQ(o.at("total_amount_oz"), 2.5);
  EXPECT_EQ(o.at("total_cost"), 5.92);
  EXPECT_EQ(o.at("average_rating"), 7.8);
  EXPECT_EQ(o.at("tags"), (bj::array{"peaty", "smoky"}));
  EXPECT_EQ(o.at("companions"), bj::array{});
  EXPECT_TRUE(o.at("location").is_null());
  EXPECT_FALSE(o.contains("merged_into"));
  s.merged_into = 5;
  EXPECT_EQ(json::to_json(s).at("merged_into"), 5);
}

TEST(JsonTest, PourKeepsItsOwnOffset)
{
  orm::Pour p;
  p.id = 1;
  p.poured_at_ms = 1'553'417'475'000; // 2019-03-24T08:51:15Z
  p.utc_offset_min = 9 * 60;
  p.amount_coz = 150;
  p.rating_tenths = 80;
  const auto o = json::to_json(p);
  EXPECT_EQ(o.at("poured_at"), "2019-03-24T08:51:15Z");
  EXPECT_EQ(o.at("local_time"), "2019-03-24T17:51:15+09:00");
  EXPECT_TRUE(o.at("session_id").is_null());
  EXPECT_EQ(o.at("rating"), 8);
  EXPECT_TRUE(o.at("cost").is_null());
}

TEST(AuthTest, BearerSchemeIsCaseInsensitiveTokenIsNot)
{
  EXPECT_EQ(admin::bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(admin::bearer_token("bearer abc"), "abc");
  EXPECT_EQ(admin::bearer_token("BEARER  abc "), "abc");
  EXPECT_FALSE(admin::bearer_token("Bearer"));
  EXPECT_FALSE(admin::bearer_token("Bearer "));
  EXPECT_FALSE(admin::bearer_token("Basic abc"));
  EXPECT_FALSE(admin::bearer_token("Bearerabc"));

  const std::string secret = "s3cret";
  const std::string right = "Bearer s3cret";
  const std::string upper = "Bearer S3CRET";
  const std::string longer = "Bearer s3cret2";
  EXPECT_TRUE(admin::bearer_matches(&right, secret));
  EXPECT_FALSE(admin::bearer_matches(&upper, secret));
  EXPECT_FALSE(admin::bearer_matches(&longer, secret));
  EXPECT_FALSE(admin::bearer_matches(nullptr, secret));
  EXPECT_FALSE(admin::bearer_matches(&right, ""));
  EXPECT_TRUE(admin::constant_time_equal("", ""));
  EXPECT_FALSE(admin::constant_time_equal("a", ""));
}

TEST(BodyTest, CollectsEveryFieldError)
{
  admin::Body body(R"({"a":"x","b":1.5,"c":[1],"d":null,"z":0})",
                   {"a", "b", "c", "d", "e"});
  EXPECT_FALSE(body.id("a", true));
  EXPECT_FALSE(body.id("b", true));
  EXPECT_TRUE(body.text_list("c").empty());
  EXPECT_FALSE(body.text("d", false));
  EXPECT_FALSE(body.number("e", true));
  try {
    body.finish();
    FAIL() << "expected an error";
  } catch (const admin::HttpError& e) {
    EXPECT_EQ(e.status(), 422u);
    std::vector<std::string> fields;
    for (const auto& f : e.errors())
      fields.push_back(f.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"z", "a", "b", "c[0]", "e"}));
  }
  EXPECT_THROW(admin::Body("{", {}), admin::HttpError);
  EXPECT_THROW(admin::Body("", {}), admin::HttpError);
  EXPECT_THROW(admin::Body("3", {}), admin::HttpError);
}

class RouterTest : public ::testing::Test
{
protected:
  RouterTest()
      : store_(fresh_store("sqlite")), engine_(*store_, {}),
        secrets_({"admin-token", ""}), context_{engine_, *store_, metrics_,
                                                secrets_, nullptr}
  {}

  Response run(admin::Router& router, Request request)
  {
    auto match = router.match(request);
    if (match.answer)
      return *match.answer;
    return router.handle(match, request);
  }

  static Request req(std::string method, std::string target,
                     std::string token = "admin-token")
  {
    Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    if (!token.empty())
      r.headers["authorization"] = "Bearer " + token;
    return r;
  }

  std::unique_ptr<orm::Store> store_;
  engine::Engine engine_;
  admin::Metrics metrics_;
  admin::SecretBox secrets_;
  admin::ApiContext context_;
};

TEST_F(RouterTest, MatchesParamsMethodsAndCredentials)
{
  std::string seen;
  auto echo = [&](const Request& r, const admin::Params& p) {
    seen = p.empty() ? r.path : p.at(0);
    return Response{};
  };
  admin::Router router(
      context_, {{"GET", "/things/{id}", admin::Auth::admin, false, echo},
                 {"POST", "/things/{id}", admin::Auth::admin, false, echo},
                 {"GET", "/open", admin::Auth::none, false, echo},
                 {"GET", "/cron", admin::Auth::cron, false, echo}});

  EXPECT_EQ(run(router, req("GET", "/things/42?x=1")).status, 200u);
  EXPECT_EQ(seen, "42");
  EXPECT_EQ(run(router, req("GET", "/open", "")).status, 200u);
  EXPECT_EQ(run(router, req("GET", "/nothing")).status, 404u);

  const Response wrong = run(router, req("DELETE", "/things/1"));
  EXPECT_EQ(wrong.status, 405u);
  ASSERT_EQ(wrong.headers.size(), 1u);
  EXPECT_EQ(wrong.headers[0].second, "GET, POST");

  EXPECT_EQ(run(router, req("GET", "/things/1", "")).status, 401u);
  EXPECT_EQ(run(router, req("GET", "/things/1", "Admin-Token")).status, 401u);
  // No cron secret configured: closed, whatever the token.
  EXPECT_EQ(run(router, req("GET", "/cron", "")).status, 503u);
  secrets_.set({"admin-token", "c"});
  EXPECT_EQ(run(router, req("GET", "/cron", "admin-token")).status, 401u);
  EXPECT_EQ(run(router, req("GET", "/cron", "c")).status, 200u);
}

TEST_F(RouterTest, FailuresBecomeProblems)
{
  auto thrower = [](std::function<void()> fn) {
    return [fn](const Request&, const admin::Params&) {
      fn();
      return Response{};
    };
  };
  admin::Router router(
      context_,
      {{"GET", "/validation", admin::Auth::none, false, thrower([] {
          throw engine::ValidationError(
              std::vector<engine::FieldError>{{"amount_oz", "too much"}});
        })},
       {"GET", "/missing", admin::Auth::none, false,
        thrower([] { throw engine::NotFound("no such user"); })},
       {"GET", "/conflict", admin::Auth::none, false,
        thrower([] { throw engine::Conflict("taken"); })},
       {"GET", "/down", admin::Auth::none, false, thrower([] {
          throw orm::DatabaseError(orm::DatabaseError::Kind::unavailable,
                                   "gone");
        })},
       {"GET", "/bug", admin::Auth::none, false,
        thrower([] { throw std::logic_error("oops"); })}});

  const Response v = run(router, req("GET", "/validation"));
  EXPECT_EQ(v.status, 422u);
  EXPECT_EQ(v.content_type, "application/problem+json");
  const auto body = bj::parse(v.body);
  EXPECT_EQ(body.at("errors").at(0).at("field"), "amount_oz");
  EXPECT_EQ(body.at("status"), 422);

  EXPECT_EQ(run(router, req("GET", "/missing")).status, 404u);
  EXPECT_EQ(run(router, req("GET", "/conflict")).status, 409u);
  const Response down = run(router, req("GET", "/down"));
  EXPECT_EQ(down.status, 503u);
  ASSERT_EQ(down.headers.size(), 1u);
  EXPECT_EQ(down.headers[0].first, "Retry-After");
  const Response bug = run(router, req("GET", "/bug"));
  EXPECT_EQ(bug.status, 500u);
  // Internal details stay in the log, not in the answer.
  EXPECT_EQ(bug.body.find("oops"), std::string::npos);
}

TEST(ProblemTest, QuotedBytesThatAreNotUtf8AreReplaced)
{
  // A percent-decoded path or query can hold any bytes; the answer quoting
  // them must still be JSON, which is UTF-8.
  const Response r = admin::problem(404, "No resource at '/\xFF\xC3('.",
                                    {{"\xE2\x82", "is \xF0\x9F\xA5\x83"}});
  const bj::value body = bj::parse(r.body); // throws on invalid UTF-8
  EXPECT_EQ(body.at("detail"), "No resource at '/\uFFFD\uFFFD('.");
  EXPECT_EQ(body.at("errors").at(0).at("field"), "\uFFFD\uFFFD");
  EXPECT_EQ(body.at("errors").at(0).at("message"), "is \U0001F943");
}

TEST(MetricsTest, InventedMethodsShareOneSeries)
{
  // Any token is a valid HTTP method, and 405 comes before the token
  // check: a label per method would let anyone grow the registry forever.
  admin::Metrics metrics;
  for (int i = 0; i < 50; ++i)
    metrics.http_request("/api/pours", "BREW" + std::to_string(i), 405, 0);
  metrics.http_request("/api/pours", "POST", 201, 0);
  const std::string text = metrics.text();
  EXPECT_EQ(text.find("BREW"), std::string::npos);
  EXPECT_NE(text.find("pourd_http_requests_total{method=\"other\","
                      "route=\"/api/pours\",status=\"405\"} 50"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("method=\"POST\""), std::string::npos);
}

} // namespace
} // namespace pourd::test
