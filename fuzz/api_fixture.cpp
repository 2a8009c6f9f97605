#include "fuzz/api_fixture.hpp"

#include "admin/api.hpp"
#include "admin/handlers.hpp"
#include "admin/logging.hpp"
#include "admin/metrics.hpp"
#include "daemon/sweeper.hpp"
#include "engine/engine.hpp"
#include "engine/import.hpp"

#include <boost/json/parse.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace pourd::fuzz {

namespace {

namespace bj = boost::json;

// Small enough that a database never grows past a few hundred rows.
constexpr std::size_t k_inputs_per_database = 500;

// The engine's "now": the evening of the README's walk-through.
constexpr std::int64_t k_now_ms = 1'796'335'200'000; // 2026-12-03T22:00:00Z

// Every status the API documents; anything else (500, 503) is a failure
// of pourd, not of the request.
bool
documented_status(unsigned status)
{
  static const std::set<unsigned> ok = {200, 201, 308, 400, 401, 404,
                                        405, 409, 413, 422, 431};
  return ok.count(status) != 0;
}

bool
json_type(const std::string& content_type)
{
  return content_type == "application/json" ||
         content_type == "application/problem+json";
}

std::string
header_of(const admin::Request& request, const char* name)
{
  const std::string* v = request.header(name);
  return v ? *v : std::string();
}

// The methods of RFC 9110; Metrics labels any other as "other".
bool
standard_method(const std::string& method)
{
  static const std::set<std::string> known = {"GET",     "HEAD",   "POST",
                                              "PUT",     "DELETE", "CONNECT",
                                              "OPTIONS", "TRACE",  "PATCH"};
  return known.count(method) != 0;
}

} // namespace

struct ApiFixture::State
{
  State(const std::string& path, admin::Metrics& metrics_)
      : store(open(path)),
        engine(*store, engine::Settings{}, [] { return k_now_ms; }),
        secrets(admin::Secrets{k_admin_token, k_cron_secret}),
        sweeper(engine, metrics_, "fuzz", 1000),
        context{engine, *store, metrics_, secrets,
                [this] { return sweeper.run("cron"); }},
        router(context, admin::api_routes(context))
  {}

  static std::unique_ptr<orm::Store> open(const std::string& path)
  {
    orm::ConnectOptions o;
    o.backend = orm::Backend::sqlite;
    o.path = path;
    auto store = orm::Store::open(o);
    store->migrate();
    return store;
  }

  std::unique_ptr<orm::Store> store;
  // The legacy rows populate() leaves without a session, on purpose.
  std::set<std::int64_t> seeded_orphans;
  engine::Engine engine;
  admin::SecretBox secrets;
  daemon::Sweeper sweeper;
  admin::ApiContext context;
  admin::Router router;
};

namespace {

admin::Metrics&
metrics()
{
  // One for the process, as in the daemon: series outlive databases.
  static admin::Metrics m;
  return m;
}

// The starting state: what the README's walk-through makes, a second
// user elsewhere, and legacy rows without a session for the sweep.
void
populate(engine::Engine& engine, orm::Store& store)
{
  engine.create_user({"ada@example.com", "Ada", "Europe/Oslo"});
  engine.create_user({"bo@example.com", "Bo", "America/New_York"});
  engine.create_bottle({1, "Rye", 45.0, 750.0});
  engine.create_bottle({2, "Stout", std::nullopt, std::nullopt});

  engine::NewPour pour;
  pour.user_id = 1;
  pour.bottle_id = 1;
  pour.amount_oz = 1.5;
  pour.poured_at = engine::Instant{1'796'328'900'000, std::nullopt};
  pour.rating = 8.5;
  pour.tags = {"Peaty"};
  engine.create_pour(pour);
  pour.amount_oz = 1;
  pour.poured_at = engine::Instant{1'796'334'000'000, std::nullopt};
  pour.location = "Bar";
  engine.create_pour(pour);

  engine::ImportOptions options;
  options.user_email = "bo@example.com";
  const std::string csv =
      "checkin_id,created_at_utc,tz_offset_minutes,drink_name,producer,"
      "style,abv,serving_type,rating,venue_category,comment_length\n"
      "9001,2026-12-02T19:30:00Z,-300,Porter,Mill,Porter,5.5,Draft,3.75,"
      "Bar,0\n"
      "9002,2026-12-02T21:05:00Z,,Lager,Mill,Pale Lager,4.8,Bottle,,,\n";
  engine::import_rows(store, engine.settings(),
                      engine::parse_import(csv, options), options);
}

} // namespace

ApiFixture&
ApiFixture::get()
{
  static ApiFixture fixture;
  return fixture;
}

ApiFixture::ApiFixture()
{
  // Errors only: a rejected request is the common case here.
  logging::set_level("error");
  // On tmpfs when there is one: commits then cost no disk flush.
  const std::filesystem::path shm = "/dev/shm";
  const std::filesystem::path base =
      std::filesystem::is_directory(shm)
          ? shm
          : std::filesystem::temp_directory_path();
  std::string pattern = (base / "pourd-fuzz.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    fail("cannot create a temporary directory");
  dir_ = pattern;
  open_fresh();
}

ApiFixture::~ApiFixture()
{
  state_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void
ApiFixture::open_fresh()
{
  state_.reset();
  const std::string path = dir_ + "/pourd.db";
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
  state_ = std::make_unique<State>(path, metrics());
  populate(state_->engine, *state_->store);
  for (const auto& v : state_->engine.check())
    if (v.session_id == 0)
      state_->seeded_orphans.insert(v.pour_id);
  if (state_->seeded_orphans.size() != 2)
    fail("the starting state should hold two orphans");
}

void
ApiFixture::next_input()
{
  if (++inputs_ % k_inputs_per_database != 0)
    return;
  // Every user, before the database goes: check_rules() only looks at
  // the users that have bottles from the start, for speed.
  check(std::nullopt, "after the last 500 inputs (replay them together)");
  open_fresh();
}

admin::Response
ApiFixture::serve(admin::Request& request)
{
  const admin::Router& router = state_->router;
  const admin::Router::Match match = router.match(request);
  admin::Response response =
      match.answer ? *match.answer : router.handle(match, request);
  metrics().http_request(match.label, request.method, response.status, 0);

  const std::string where = request.method + " " + request.target + " -> " +
                            std::to_string(response.status);
  // POURD_FUZZ_VERBOSE=1 shows each answer, to see what an input does.
  static const bool verbose = std::getenv("POURD_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "%s %s\n", where.c_str(), response.body.c_str());
  if (!documented_status(response.status))
    fail("undocumented status: " + where + " " + response.body);

  if (json_type(response.content_type)) {
    boost::system::error_code ec;
    const bj::value body = bj::parse(response.body, ec);
    if (ec || !body.is_object())
      fail("answer is not a JSON object: " + where + " " + response.body);
    if (response.content_type == "application/problem+json") {
      const bj::value* status = body.as_object().if_contains("status");
      if (status == nullptr || !status->is_int64() ||
          status->as_int64() != response.status)
        fail("problem with the wrong status: " + where + " " + response.body);
    }
  }

  // Success on a guarded route needs the right token in the request.
  if (response.status < 400 && match.route != nullptr) {
    const std::string auth = header_of(request, "authorization");
    if (match.route->auth == admin::Auth::admin &&
        auth.find(k_admin_token) == std::string::npos)
      fail("admin route answered without the admin token: " + where);
    if (match.route->auth == admin::Auth::cron &&
        auth.find(k_cron_secret) == std::string::npos)
      fail("cron route answered without the cron secret: " + where);
  }
  if (response.status == 401) {
    bool challenge = false;
    for (const auto& [name, value] : response.headers)
      challenge = challenge || name == "WWW-Authenticate";
    if (!challenge)
      fail("401 without WWW-Authenticate: " + where);
  }

  if (!request.method.empty() && !standard_method(request.method) &&
      metrics().text().find("method=\"" + request.method + "\"") !=
          std::string::npos)
    fail("a metrics label holds a method the client made up: " + where);
  return response;
}

void
ApiFixture::check_rules()
{
  // The two users that own bottles from the start; others can only get
  // pours after the input made them a bottle, and next_input() checks
  // everyone before each new database.
  check(1, "after this input");
  check(2, "after this input");
}

void
ApiFixture::check(std::optional<std::int64_t> user_id, const char* when)
{
  std::string all;
  for (const auto& v : state_->engine.check(user_id))
    if (v.session_id != 0 || !state_->seeded_orphans.count(v.pour_id))
      all += "\n  user " + std::to_string(v.user_id) + " pour " +
             std::to_string(v.pour_id) + " session " +
             std::to_string(v.session_id) + ": " + v.reason;
  if (!all.empty())
    fail(std::string("session rules broken ") + when + ":" + all);
}

} // namespace pourd::fuzz
