#include "admin/handlers.hpp"

#include "admin/body.hpp"
#include "admin/json.hpp"
#include "admin/metrics.hpp"
#include "admin/problem.hpp"

#include <boost/json/object.hpp>

#include <chrono>

namespace pourd::admin {

namespace bj = boost::json;

namespace {

// The longest Idempotency-Key we store (the key column's width).
constexpr std::size_t k_max_idempotency_key = 255;

Response
json_response(unsigned status, const bj::value& body)
{
  Response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

std::int64_t
path_id(const Params& params, std::size_t i, const char* what)
{
  const auto id = parse_id(params.at(i));
  if (!id)
    throw HttpError(404, std::string("No ") + what + " with id '" +
                             params.at(i) + "'.");
  return *id;
}

// Refuses query parameters a route does not know, as bodies do.
void
check_query(const Request& request, std::vector<std::string_view> known)
{
  std::vector<engine::FieldError> errors;
  for (const auto& [key, value] : request.query) {
    bool ok = false;
    for (auto k : known)
      ok = ok || key == k;
    if (!ok)
      errors.push_back({key, "is not a known query parameter"});
  }
  if (!errors.empty())
    throw HttpError(400, "The query has unknown parameters.", errors);
}

std::int64_t
now_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// -------------------------------------------------------------------------
// Users and bottles

Response
create_user(ApiContext& ctx, const Request& req, const Params&)
{
  Body body(req.body, {"email", "name", "time_zone"});
  engine::NewUser in;
  in.email = body.text("email", true).value_or("");
  in.name = body.text("name", false).value_or("");
  in.time_zone = body.text("time_zone", false);
  body.finish();

  const orm::User user = ctx.engine.create_user(in);
  bj::object out;
  out["user"] = json::to_json(user);
  return json_response(201, out);
}

Response
create_bottle(ApiContext& ctx, const Request& req, const Params&)
{
  Body body(req.body, {"user_id", "name", "price", "volume_ml"});
  engine::NewBottle in;
  in.user_id = body.id("user_id", true).value_or(0);
  in.name = body.text("name", true).value_or("");
  in.price = body.number("price", false);
  in.volume_ml = body.number("volume_ml", false);
  body.finish();

  const orm::Bottle bottle = ctx.engine.create_bottle(in);
  bj::object out;
  out["bottle"] = json::to_json(bottle);
  return json_response(201, out);
}

// -------------------------------------------------------------------------
// Pours and sessions

Response
create_pour(ApiContext& ctx, const Request& req, const Params&)
{
  std::string key;
  if (const std::string* k = req.header("idempotency-key")) {
    key = *k;
    if (key.empty() || key.size() > k_max_idempotency_key)
      throw HttpError(400,
                      "The Idempotency-Key header must hold 1 to 255 "
                      "characters.",
                      {{"Idempotency-Key", "must hold 1 to 255 characters"}});
  }

  Body body(req.body,
            {"user_id", "bottle_id", "amount_oz", "poured_at", "rating",
             "notes", "location", "tags", "companions", "session_id"});
  engine::NewPour in;
  in.user_id = body.id("user_id", true).value_or(0);
  in.bottle_id = body.id("bottle_id", true).value_or(0);
  in.amount_oz = body.number("amount_oz", true).value_or(0);
  if (const auto t = body.text("poured_at", false)) {
    if (const auto parsed = engine::parse_time(*t))
      in.poured_at = engine::Instant{parsed->utc_ms, parsed->offset_min};
    else
      body.fail("poured_at", "must be an RFC 3339 date-time such as "
                             "2026-12-03T21:15:00Z");
  }
  in.rating = body.number("rating", false);
  in.notes = body.text("notes", false).value_or("");
  in.location = body.text("location", false);
  in.tags = body.text_list("tags");
  in.companions = body.text_list("companions");
  in.session_id = body.id("session_id", false);
  body.finish();

  // The answer is rendered inside the transaction, so a replay gets the
  // very same body even after later pours changed the session.
  const auto render = [](const engine::PourResult& created) {
    bj::object out;
    out["pour"] = json::to_json(created.pour);
    out["session"] = json::to_json(created.session);
    return json::serialize(out);
  };
  const engine::PourResult result = ctx.engine.create_pour(in, key, render);
  if (!result.replayed) {
    ctx.metrics.pour_created();
    // A session whose first pour this is and that the grouping made.
    if (result.session.pour_count == 1 &&
        result.session.origin ==
            static_cast<std::int32_t>(orm::Origin::auto_grouped))
      ctx.metrics.session_created("auto");
  }
  Response r;
  r.status = result.replayed ? 200 : 201;
  r.body = result.body;
  r.headers.emplace_back("Location",
                         "/api/sessions/" + std::to_string(result.session.id));
  return r;
}

Response
current_session(ApiContext& ctx, const Request& req, const Params&)
{
  Body body(req.body, {"user_id", "location", "tags"});
  const std::int64_t user_id = body.id("user_id", true).value_or(0);
  const auto location = body.text("location", false);
  const auto tags = body.text_list("tags");
  body.finish();

  const engine::CurrentResult result =
      ctx.engine.current_session(user_id, location, tags);
  if (result.created)
    ctx.metrics.session_created("current");
  bj::object out;
  out["session"] = json::to_json(result.session);
  return json_response(result.created ? 201 : 200, out);
}

Response
list_sessions(ApiContext& ctx, const Request& req, const Params& params)
{
  const std::int64_t user_id = path_id(params, 0, "user");
  check_query(req, {"from", "to"});
  std::vector<engine::FieldError> errors;
  auto day = [&](const char* name) -> std::optional<std::int32_t> {
    auto it = req.query.find(name);
    if (it == req.query.end() || it->second.empty())
      return std::nullopt;
    const auto d = engine::parse_day(it->second);
    if (!d)
      errors.push_back({name, "must be a date YYYY-MM-DD"});
    return d;
  };
  const auto from = day("from");
  const auto to = day("to");
  if (from && to && *from > *to)
    errors.push_back({"to", "must not be before from"});
  if (!errors.empty())
    throw HttpError(400, "The query has invalid parameters.", errors);

  bj::array list;
  for (const auto& s : ctx.engine.sessions(user_id, from, to))
    list.push_back(json::to_json(s));
  bj::object out;
  out["sessions"] = std::move(list);
  return json_response(200, out);
}

Response
show_session(ApiContext& ctx, const Request& req, const Params& params)
{
  const std::int64_t id = path_id(params, 0, "session");
  check_query(req, {});
  const engine::SessionView view = ctx.engine.session(id);
  if (!view.session.merged_into.null()) {
    const std::int64_t survivor = *view.session.merged_into;
    bj::object out;
    out["merged_into"] = survivor;
    Response r = json_response(308, out);
    r.headers.emplace_back("Location",
                           "/api/sessions/" + std::to_string(survivor));
    return r;
  }
  bj::array pours;
  for (const auto& p : view.pours)
    pours.push_back(json::to_json(p));
  bj::object out;
  out["session"] = json::to_json(view.session);
  out["pours"] = std::move(pours);
  return json_response(200, out);
}

Response
list_orphans(ApiContext& ctx, const Request& req, const Params&)
{
  check_query(req, {});
  const engine::OrphanReport report = ctx.engine.orphans();
  bj::array groups;
  for (const auto& g : report.by_user)
    groups.push_back(json::to_json(g));
  bj::object out;
  out["count"] = report.count;
  out["by_user"] = std::move(groups);
  return json_response(200, out);
}

Response
check_orphans(ApiContext& ctx, const Request&, const Params&)
{
  const SweepAnswer answer = ctx.sweep_now();
  bj::object out;
  out["message"] = answer.message;
  out["orphaned_pours_found"] = answer.report.found;
  out["fixed"] = answer.report.fixed;
  out["remaining"] = answer.report.remaining;
  out["sessions_created"] = answer.report.sessions_created;
  out["timestamp"] = engine::utc_text(
      answer.finished_at_ms ? answer.finished_at_ms : now_ms());
  return json_response(200, out);
}

// -------------------------------------------------------------------------
// Health and metrics

Response
healthz(ApiContext&, const Request&, const Params&)
{
  bj::object out;
  out["status"] = "ok";
  return json_response(200, out);
}

Response
readyz(ApiContext& ctx, const Request&, const Params&)
{
  if (!ctx.store.ping()) {
    ctx.metrics.database_error("unavailable");
    Response r = problem(503, "The database does not answer.");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  if (const std::string why = ctx.store.write_problem(); !why.empty()) {
    Response r = problem(503, "The database answers but cannot take "
                              "writes: " +
                                  why + ".");
    r.headers.emplace_back("Retry-After", "30");
    return r;
  }
  bj::object out;
  out["status"] = "ready";
  return json_response(200, out);
}

Response
metrics(ApiContext& ctx, const Request&, const Params&)
{
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx.metrics.text();
  return r;
}

} // namespace

std::vector<Route>
api_routes(ApiContext& ctx)
{
  auto bind =
      [&ctx](Response (*fn)(ApiContext&, const Request&, const Params&)) {
        return [&ctx, fn](const Request& req, const Params& params) {
          return fn(ctx, req, params);
        };
      };
  return {
      {"POST", "/api/users", Auth::admin, true, bind(create_user)},
      {"POST", "/api/bottles", Auth::admin, true, bind(create_bottle)},
      {"POST", "/api/pours", Auth::admin, true, bind(create_pour)},
      {"POST", "/api/sessions/current", Auth::admin, true,
       bind(current_session)},
      {"GET", "/api/users/{id}/sessions", Auth::admin, true,
       bind(list_sessions)},
      {"GET", "/api/sessions/{id}", Auth::admin, true, bind(show_session)},
      {"GET", "/api/orphans", Auth::admin, true, bind(list_orphans)},
      {"GET", "/api/cron/check-orphaned-pours", Auth::cron, true,
       bind(check_orphans)},
      {"POST", "/api/cron/check-orphaned-pours", Auth::cron, true,
       bind(check_orphans)},
      {"GET", "/healthz", Auth::none, false, bind(healthz)},
      {"GET", "/readyz", Auth::none, true, bind(readyz)},
      {"GET", "/metrics", Auth::none, false, bind(metrics)},
  };
}

} // namespace pourd::admin
