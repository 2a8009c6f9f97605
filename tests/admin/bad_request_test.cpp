// Requests the admin endpoint must refuse: each gets the right status and
// a problem body, and none of them writes anything.
#include "tests/admin/fixture.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>

#include <set>

namespace pourd::test {
namespace {

struct BadRequest
{
  const char* what;
  std::string method;
  std::string target;
  std::string body;
  std::set<int> statuses; // acceptable answers
  // Which Authorization to send: "admin" (the right token), "none", or
  // a literal header value.
  std::string auth = "admin";
  Headers extra = {};
  // When set, sent as raw bytes instead of the fields above.
  std::string raw = {};
};

std::string
big(std::size_t n, char c = 'x')
{
  return std::string(n, c);
}

std::vector<BadRequest>
table()
{
  const std::string ok_pour = R"("user_id":1,"bottle_id":1,"amount_oz":1.5)";
  auto pour = [&](const std::string& extra) {
    return "{" + ok_pour + (extra.empty() ? "" : "," + extra) + "}";
  };
  // One request a line reads best as a table.
  // clang-format off
  return {
      {"malformed JSON", "POST", "/api/pours", R"({"user_id":)", {400}},
      {"trailing garbage", "POST", "/api/pours", pour("") + "x", {400}},
      {"array body", "POST", "/api/pours", "[1,2]", {400}},
      {"empty body", "POST", "/api/pours", "", {400}},
      {"string body", "POST", "/api/pours", R"("pour")", {400}},
      {"deep nesting", "POST", "/api/pours", big(100, '[') + big(100, ']'),
       {400}},
      {"user_id as string", "POST", "/api/pours",
       R"({"user_id":"1","bottle_id":1,"amount_oz":1.5})", {422}},
      {"user_id fractional", "POST", "/api/pours",
       R"({"user_id":1.5,"bottle_id":1,"amount_oz":1.5})", {422}},
      {"user_id negative", "POST", "/api/pours",
       R"({"user_id":-1,"bottle_id":1,"amount_oz":1.5})", {422}},
      {"amount missing", "POST", "/api/pours",
       R"({"user_id":1,"bottle_id":1})", {422}},
      {"amount as string", "POST", "/api/pours",
       R"({"user_id":1,"bottle_id":1,"amount_oz":"1.5"})", {422}},
      {"amount zero", "POST", "/api/pours",
       R"({"user_id":1,"bottle_id":1,"amount_oz":0})", {422}},
      {"amount too large", "POST", "/api/pours",
       R"({"user_id":1,"bottle_id":1,"amount_oz":10.5})", {422}},
      {"unknown field", "POST", "/api/pours", pour(R"("colour":"amber")"),
       {422}},
      {"rating above 10", "POST", "/api/pours", pour(R"("rating":11)"),
       {422}},
      {"rating negative", "POST", "/api/pours", pour(R"("rating":-1)"),
       {422}},
      {"rating two decimals", "POST", "/api/pours",
       pour(R"("rating":7.25)"), {422}},
      {"notes too long", "POST", "/api/pours",
       pour(R"("notes":")" + big(1001) + "\""), {422}},
      {"unknown location", "POST", "/api/pours",
       pour(R"("location":"Moon")"), {422}},
      {"tags not an array", "POST", "/api/pours", pour(R"("tags":"peaty")"),
       {422}},
      {"tag not a string", "POST", "/api/pours", pour(R"("tags":[1])"),
       {422}},
      {"poured_at not a time", "POST", "/api/pours",
       pour(R"("poured_at":"yesterday")"), {422}},
      {"poured_at month 13", "POST", "/api/pours",
       pour(R"("poured_at":"2026-13-01T00:00:00Z")"), {422}},
      {"poured_at offset out of range", "POST", "/api/pours",
       pour(R"("poured_at":"2026-11-01T00:00:00+15:00")"), {422}},
      {"unknown user", "POST", "/api/pours",
       R"({"user_id":999,"bottle_id":1,"amount_oz":1.5})", {404}},
      {"unknown bottle", "POST", "/api/pours",
       R"({"user_id":1,"bottle_id":999,"amount_oz":1.5})", {404, 422}},
      {"unknown session", "POST", "/api/pours",
       pour(R"("session_id":999)"), {404, 422}},
      {"idempotency key too long", "POST", "/api/pours", pour(""), {400, 422},
       "admin", {{"Idempotency-Key", big(300)}}},
      {"idempotency key not ASCII", "POST", "/api/pours", pour(""), {422},
       "admin", {{"Idempotency-Key", "caf\xc3\xa9-\xff"}}},
      {"body over 64 KiB", "POST", "/api/pours",
       pour(R"("notes":")" + big(70 * 1024) + "\""), {413}},
      {"no token", "POST", "/api/pours", pour(""), {401}, "none"},
      {"wrong token", "POST", "/api/pours", pour(""), {401},
       "Bearer not-the-token"},
      {"basic scheme", "POST", "/api/pours", pour(""), {401},
       "Basic YWRtaW46YWRtaW4="},
      {"cron secret on admin route", "POST", "/api/pours", pour(""), {401},
       std::string("Bearer ") + k_cron_secret},
      {"empty bearer", "POST", "/api/pours", pour(""), {401}, "Bearer "},
      {"PUT on pours", "PUT", "/api/pours", pour(""), {405}},
      {"DELETE on users", "DELETE", "/api/users", "", {405}},
      {"unknown path", "POST", "/api/drinks", pour(""), {404}},
      {"user email wrong type", "POST", "/api/users", R"({"email":5})",
       {422}},
      {"user email missing", "POST", "/api/users", R"({"name":"Bo"})", {422}},
      {"user email malformed", "POST", "/api/users",
       R"({"email":"not-an-address"})", {422}},
      {"user unknown zone", "POST", "/api/users",
       R"({"email":"z@example.com","time_zone":"Mars/Olympus_Mons"})", {422}},
      {"user zone of the host", "POST", "/api/users",
       R"({"email":"lt@example.com","time_zone":"localtime"})", {422}},
      {"user unknown field", "POST", "/api/users",
       R"({"email":"n@example.com","nickname":"n"})", {422}},
      {"user email taken", "POST", "/api/users",
       R"({"email":"BAD@example.com"})", {409}},
      {"bottle without name", "POST", "/api/bottles", R"({"user_id":1})",
       {422}},
      {"bottle negative price", "POST", "/api/bottles",
       R"({"user_id":1,"name":"B","price":-5})", {422}},
      {"bottle price as string", "POST", "/api/bottles",
       R"({"user_id":1,"name":"B","price":"5"})", {422}},
      {"bottle for unknown user", "POST", "/api/bottles",
       R"({"user_id":999,"name":"B"})", {404}},
      {"current without user", "POST", "/api/sessions/current", "{}", {422}},
      {"current unknown location", "POST", "/api/sessions/current",
       R"({"user_id":1,"location":"Moon"})", {422}},
      {"current unknown user", "POST", "/api/sessions/current",
       R"({"user_id":999})", {404}},
      {"sessions bad date", "GET", "/api/users/1/sessions?from=2026-02-30",
       "", {400}},
      {"sessions unknown parameter", "GET",
       "/api/users/1/sessions?colour=red", "", {400}},
      {"sessions of unknown user", "GET", "/api/users/999/sessions", "",
       {404}},
      {"session id not a number", "GET", "/api/sessions/abc", "", {404}},
      {"session id not UTF-8", "GET", "/api/sessions/%FF%C3", "", {404}},
      {"cron without secret", "POST", "/api/cron/check-orphaned-pours", "",
       {401}, "none"},
      {"not HTTP", "", "", "", {400}, "admin", {},
       "HELLO THERE\r\n\r\n"},
      {"header section too large", "", "", "", {431}, "admin", {},
       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big(20 * 1024) +
           "\r\n\r\n"},
      {"chunked body over the limit", "", "", "", {413}, "admin", {},
       "POST /api/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
       "\r\n\r\n11000\r\n" +
           big(0x11000) + "\r\n0\r\n\r\n"},
  };
  // clang-format on
}

TEST(BadRequestTest, EveryBadRequestIsRefusedAndWritesNothing)
{
  const auto cases = table();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& backend : backends()) {
    SCOPED_TRACE(backend);
    Running run = start(backend);
    ASSERT_TRUE(run.daemon->started());
    const Api& api = *run.api;
    ASSERT_EQ(make_user(api, "bad@example.com"), 1);
    ASSERT_EQ(make_bottle(api, 1), 1);

    auto store = run.open_store();
    const Counts before = count_rows(*store);
    ASSERT_EQ(before.users, 1u);
    ASSERT_EQ(before.bottles, 1u);

    for (const auto& c : cases) {
      SCOPED_TRACE(c.what);
      HttpResult r;
      if (!c.raw.empty()) {
        r = raw_http(api.port(), c.raw);
      } else {
        Headers headers = c.extra;
        if (c.auth == "admin")
          headers.emplace_back("Authorization", "Bearer " + api.token());
        else if (c.auth != "none")
          headers.emplace_back("Authorization", c.auth);
        if (!c.body.empty())
          headers.emplace_back("Content-Type", "application/json");
        r = http(api.port(), c.method, c.target, c.body, headers);
      }
      EXPECT_TRUE(c.statuses.count(r.status))
          << "status " << r.status << " " << r.error << " body " << r.body;
      EXPECT_EQ(r.header("content-type"), "application/problem+json");
      EXPECT_TRUE(r.json().is_object()) << "not JSON: " << r.body;
      if (r.status == 422) {
        const auto v = r.json();
        ASSERT_TRUE(v.is_object()) << r.body;
        ASSERT_TRUE(v.as_object().contains("errors")) << r.body;
        EXPECT_FALSE(v.at("errors").as_array().empty());
      }
      EXPECT_EQ(count_rows(*store), before) << to_string(count_rows(*store));
    }

    // The daemon is still healthy after all of that.
    EXPECT_EQ(http(api.port(), "GET", "/healthz").status, 200);
  }
}

TEST(BadRequestTest, ValidationNamesEveryBadField)
{
  Running run = start("sqlite");
  ASSERT_TRUE(run.daemon->started());
  const HttpResult r = run.api->post(
      "/api/pours",
      R"({"user_id":"x","amount_oz":true,"tags":[1,"a",2],"extra":null})");
  ASSERT_EQ(r.status, 422) << r.body;
  std::set<std::string> fields;
  const auto v = r.json();
  for (const auto& e : v.at("errors").as_array())
    fields.insert(std::string(e.at("field").as_string()));
  EXPECT_EQ(fields, (std::set<std::string>{"extra", "user_id", "bottle_id",
                                           "amount_oz", "tags[0]", "tags[2]"}));
}

} // namespace
} // namespace pourd::test
