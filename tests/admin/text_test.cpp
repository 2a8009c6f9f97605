// Text that breaks careless code: SQL metacharacters, LIKE wildcards,
// backslashes, combining marks, direction overrides, emoji sequences,
// 4-byte UTF-8, strings at and past the documented limits, NUL, lone
// surrogates and broken UTF-8. Stored and answered byte for byte on every
// backend, or refused with an error naming the field and nothing written.
#include "config/database_url.hpp"
#include "tests/admin/fixture.hpp"
#include "tests/support/databases.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pourd::test {
namespace {

namespace bj = boost::json;

const std::string k_sql = "'; DROP TABLE pours; --";
const std::string k_slashes = R"(C:\path\to\"quoted"\)";
const std::string k_like = "100% _sure_ %%";
const std::string k_combining = "e\u0301te\u0301 n\u0303";
const std::string k_rtl = "\u202Egnp.exe\u202C \u200Fabc";
const std::string k_family = "\U0001F469\u200D\U0001F469\u200D\U0001F467";
const std::string k_four_byte = "\U0001D11E \U0001F943 \U0002070E";
const std::string k_glass = "\U0001F943"; // 4 bytes, one code point

std::string
repeat(const std::string& s, int n)
{
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

std::string
text_of(const bj::value& v)
{
  return v.is_string() ? std::string(v.get_string()) : "<not a string>";
}

std::vector<std::string>
list_of(const bj::value& v)
{
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& e : v.get_array())
      out.push_back(text_of(e));
  return out;
}

// The fields a 422 names.
std::vector<std::string>
fields_of(const HttpResult& r)
{
  std::vector<std::string> out;
  const auto v = r.json();
  if (v.is_object() && v.as_object().contains("errors"))
    for (const auto& e : v.at("errors").as_array())
      out.push_back(text_of(e.at("field")));
  return out;
}

class TextTest : public ::testing::TestWithParam<std::string>
{
};

TEST_P(TextTest, OddTextRoundTripsExactly)
{
  Running run = start(GetParam());
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;

  bj::object user;
  user["email"] = "o'brien+100%_x\\y@example.com";
  user["name"] = k_sql + " " + k_family + " " + k_rtl;
  user["time_zone"] = "UTC";
  HttpResult r = api.post("/api/users", user);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(text_of(r.json().at("user").at("email")), text_of(user["email"]));
  EXPECT_EQ(text_of(r.json().at("user").at("name")), text_of(user["name"]));
  const std::int64_t user_id = r.json().at("user").at("id").as_int64();

  // LIKE wildcards in an email match nothing but themselves.
  for (const char* email : {"a%@example.com", "ab@example.com",
                            "x_y@example.com", "xzy@example.com"}) {
    bj::object u;
    u["email"] = email;
    EXPECT_EQ(api.post("/api/users", u).status, 201) << email;
  }

  bj::object bottle;
  bottle["user_id"] = user_id;
  bottle["name"] = k_like + " " + k_four_byte + " " + k_slashes;
  r = api.post("/api/bottles", bottle);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(text_of(r.json().at("bottle").at("name")), text_of(bottle["name"]));
  const std::int64_t bottle_id = r.json().at("bottle").at("id").as_int64();

  const std::string notes = k_sql + "\n" + k_slashes + "\t" + k_like + " " +
                            k_combining + " " + k_rtl + " " + k_family + " " +
                            k_four_byte + " \uFEFF\u00A0end";
  // Already trimmed and lower-case, so normalizing leaves them as sent.
  const std::vector<std::string> tags = {"'; drop table pours; --", "100%_\\",
                                         k_glass + k_family, k_combining};
  const std::vector<std::string> companions = {"\u202Eadmin", k_four_byte};
  bj::object pour = pour_body(user_id, bottle_id, "2026-12-03T21:15:00Z");
  pour["notes"] = notes;
  pour["tags"] = bj::value_from(tags);
  pour["companions"] = bj::value_from(companions);
  r = api.post("/api/pours", pour);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto created = r.json();
  EXPECT_EQ(text_of(created.at("pour").at("notes")), notes);

  // Sets come back sorted; compare as sets.
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(list_of(created.at("pour").at("tags"))), sorted(tags));
  EXPECT_EQ(sorted(list_of(created.at("pour").at("companions"))),
            sorted(companions));

  // Read back through the API and straight from the database.
  const std::int64_t session_id = created.at("session").at("id").as_int64();
  r = api.get("/api/sessions/" + std::to_string(session_id));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto shown = r.json();
  EXPECT_EQ(text_of(shown.at("pours").at(0).at("notes")), notes);
  EXPECT_EQ(sorted(list_of(shown.at("session").at("tags"))), sorted(tags));

  auto store = run.open_store();
  store->transact([&](orm::Tx& tx) {
    const auto pours = tx.pours_of_user(user_id);
    ASSERT_EQ(pours.size(), 1u);
    EXPECT_EQ(pours[0].notes, notes);
    const auto u = tx.find_user(user_id);
    ASSERT_FALSE(u.null());
    EXPECT_EQ(u->name, std::string(user["name"].as_string()));
    EXPECT_EQ(u->email, std::string(user["email"].as_string()));
    const auto b = tx.find_bottle(bottle_id);
    ASSERT_FALSE(b.null());
    EXPECT_EQ(b->name, std::string(bottle["name"].as_string()));
  });
  EXPECT_EQ(count_rows(*store).users, 5u);
}

TEST_P(TextTest, LimitsCountCodePointsAndNameTheField)
{
  Running run = start(GetParam());
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;
  ASSERT_EQ(make_user(api, "limits@example.com"), 1);
  ASSERT_EQ(make_bottle(api, 1), 1);

  struct Limit
  {
    const char* route;
    const char* field;
    int max;
  };
  // A 4-byte character at the limit is 4 bytes a character in the
  // database; one more character is refused.
  for (const Limit& l :
       {Limit{"/api/pours", "notes", 1000}, Limit{"/api/users", "name", 255},
        Limit{"/api/bottles", "name", 255}, Limit{"/api/pours", "tags", 64}}) {
    SCOPED_TRACE(std::string(l.route) + " " + l.field);
    for (int n : {l.max, l.max + 1}) {
      const std::string value = repeat(k_glass, n);
      bj::object body;
      if (std::string(l.route) == "/api/pours") {
        body = pour_body(1, 1, "2026-12-03T21:15:00Z");
      } else if (std::string(l.route) == "/api/users") {
        body["email"] = "limit" + std::to_string(n) + "@example.com";
      } else {
        body["user_id"] = 1;
      }
      if (std::string(l.field) == "tags")
        body["tags"] = bj::array{bj::value(value)};
      else
        body[l.field] = value;
      const HttpResult r = api.post(l.route, body);
      if (n == l.max) {
        ASSERT_EQ(r.status, 201) << r.body;
        const auto v = r.json();
        const auto& obj = v.as_object().begin()->value();
        if (std::string(l.field) == "tags")
          EXPECT_EQ(list_of(v.at("pour").at("tags")),
                    std::vector<std::string>{value});
        else if (std::string(l.route) == "/api/pours")
          EXPECT_EQ(text_of(v.at("pour").at("notes")), value);
        else
          EXPECT_EQ(text_of(obj.at("name")), value);
      } else {
        EXPECT_EQ(r.status, 422) << r.body;
        const std::string want =
            std::string(l.field) == "tags" ? "tags[0]" : l.field;
        EXPECT_EQ(fields_of(r), std::vector<std::string>{want}) << r.body;
        EXPECT_NE(r.body.find(std::to_string(l.max)), std::string::npos)
            << r.body;
      }
    }
  }

  // Emails: 255 characters at most, 4-byte ones included.
  const std::string domain = "@example.com";
  for (int n : {255, 256}) {
    bj::object body;
    body["email"] =
        repeat(k_glass, n - static_cast<int>(domain.size())) + domain;
    const HttpResult r = api.post("/api/users", body);
    if (n == 255) {
      ASSERT_EQ(r.status, 201) << r.body;
      EXPECT_EQ(text_of(r.json().at("user").at("email")),
                text_of(body["email"]));
    } else {
      EXPECT_EQ(r.status, 422) << r.body;
      EXPECT_EQ(fields_of(r), std::vector<std::string>{"email"});
    }
  }

  // Characters are code points: 200 letters with a combining accent are
  // 400 of them.
  bj::object accented;
  accented["user_id"] = 1;
  accented["name"] = repeat("e\u0301", 200);
  const HttpResult r = api.post("/api/bottles", accented);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(fields_of(r), std::vector<std::string>{"name"});
}

TEST_P(TextTest, NulSurrogatesAndBrokenUtf8AreRefusedWritingNothing)
{
  Running run = start(GetParam());
  ASSERT_TRUE(run.daemon->started());
  const Api& api = *run.api;
  ASSERT_EQ(make_user(api, "nul@example.com"), 1);
  ASSERT_EQ(make_bottle(api, 1), 1);
  auto store = run.open_store();
  const Counts before = count_rows(*store);

  const std::string pour = R"("user_id":1,"bottle_id":1,"amount_oz":1)";
  struct Case
  {
    const char* what;
    const char* route;
    std::string body;
    int status;
    std::string names; // the field a 422 names, or words a 400 says
  };
  const std::vector<Case> cases = {
      {"NUL in notes", "/api/pours", "{" + pour + R"(,"notes":"a\u0000b"})",
       422, "notes"},
      {"NUL in a tag", "/api/pours",
       "{" + pour + R"(,"tags":["ok","x\u0000"]})", 422, "tags[1]"},
      {"NUL in a companion", "/api/pours",
       "{" + pour + R"(,"companions":["\u0000"]})", 422, "companions[0]"},
      {"NUL in a user name", "/api/users",
       R"({"email":"n1@example.com","name":"Bo\u0000b"})", 422, "name"},
      {"NUL in an email", "/api/users", R"({"email":"n\u0000@example.com"})",
       422, "email"},
      {"NUL in a bottle name", "/api/bottles",
       R"({"user_id":1,"name":"\u0000"})", 422, "name"},
      {"NUL in a location", "/api/pours",
       "{" + pour + R"(,"location":"Bar\u0000"})", 422, "location"},
      {"lone high surrogate", "/api/pours",
       "{" + pour + R"(,"notes":"a\ud800b"})", 400, "surrogate"},
      {"lone high surrogate at the end", "/api/pours",
       "{" + pour + R"(,"notes":"\ud800"})", 400, "surrogate"},
      {"lone low surrogate", "/api/pours", "{" + pour + R"(,"notes":"\udc00"})",
       400, "surrogate"},
      {"high surrogate before a letter", "/api/users",
       R"({"email":"s@example.com","name":"\uD83E\u0041"})", 400, "surrogate"},
      {"surrogates reversed", "/api/bottles",
       R"({"user_id":1,"name":"\udd43\ud83e"})", 400, "surrogate"},
      {"byte FF", "/api/pours", "{" + pour + ",\"notes\":\"\xff\"}", 400,
       "UTF-8"},
      {"overlong slash", "/api/pours", "{" + pour + ",\"notes\":\"\xc0\xaf\"}",
       400, "UTF-8"},
      {"encoded surrogate", "/api/users",
       "{\"email\":\"e@example.com\",\"name\":\"\xed\xa0\x80\"}", 400, "UTF-8"},
      {"truncated 4-byte character", "/api/bottles",
       "{\"user_id\":1,\"name\":\"\xf0\x9f\xa5\"}", 400, "UTF-8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const HttpResult r = api.post(c.route, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    if (c.status == 422)
      EXPECT_EQ(fields_of(r), std::vector<std::string>{c.names}) << r.body;
    else
      EXPECT_NE(r.body.find(c.names), std::string::npos) << r.body;
    EXPECT_EQ(count_rows(*store), before) << to_string(count_rows(*store));
  }

  // An escaped surrogate pair is one character and is stored as such,
  // and an escaped backslash before "ud800" is just text.
  const HttpResult ok = api.post(
      "/api/pours", "{" + pour + R"(,"notes":"\ud83e\udd43 \\ud800"})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(text_of(ok.json().at("pour").at("notes")), k_glass + " \\ud800");
}

// A MariaDB database created with the server's old default, latin1:
// pourd's first start converts it before it makes its tables, so 4-byte
// characters still round-trip instead of failing or turning into '?'.
TEST(TextMysqlTest, FourByteTextSurvivesADatabaseCreatedAsLatin1)
{
  const auto all = backends();
  if (std::find(all.begin(), all.end(), "mysql") == all.end())
    GTEST_SKIP() << "no MariaDB in this run";
  const std::string url = fresh_database_url("mysql");
  const std::string name = url.substr(url.rfind('/') + 1);
  orm::Store::open(config::parse_database_url(url))->transact([&](orm::Tx& tx) {
    tx.execute("ALTER DATABASE " + name +
               " CHARACTER SET latin1 COLLATE latin1_swedish_ci");
  });

  DaemonOptions options;
  options.database_url = url;
  Daemon daemon(options);
  ASSERT_TRUE(daemon.started()) << daemon.log();
  const Api api(daemon.port(), daemon.admin_token());
  bj::object user;
  user["email"] = "latin@example.com";
  user["name"] = k_four_byte + k_family;
  const HttpResult r = api.post("/api/users", user);
  ASSERT_EQ(r.status, 201) << r.body;
  orm::Store::open(config::parse_database_url(url))->transact([&](orm::Tx& tx) {
    const auto u = tx.find_user(1);
    ASSERT_FALSE(u.null());
    EXPECT_EQ(u->name, k_four_byte + k_family);
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, TextTest, ::testing::ValuesIn(backends()),
                         backend_name);

} // namespace
} // namespace pourd::test
