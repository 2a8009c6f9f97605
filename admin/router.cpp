#include "admin/router.hpp"

#include "admin/auth.hpp"
#include "admin/logging.hpp"
#include "admin/metrics.hpp"
#include "admin/problem.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace pourd::admin {

namespace {

std::vector<std::string_view>
segments(std::string_view path)
{
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash);
  }
  return out;
}

bool
path_matches(std::string_view pattern, std::string_view path, Params& params)
{
  const auto want = segments(pattern);
  const auto have = segments(path);
  if (want.size() != have.size())
    return false;
  Params found;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{'))
      found.emplace_back(have[i]);
    else if (want[i] != have[i])
      return false;
  }
  params = std::move(found);
  return true;
}

Response
unauthorized(const std::string& realm, const std::string& detail)
{
  Response r = problem(401, detail);
  r.headers.emplace_back("WWW-Authenticate",
                         "Bearer realm=\"pourd-" + realm + "\"");
  return r;
}

std::string
kind_name(orm::DatabaseError::Kind kind)
{
  switch (kind) {
  case orm::DatabaseError::Kind::unavailable:
    return "unavailable";
  case orm::DatabaseError::Kind::duplicate:
    return "duplicate";
  case orm::DatabaseError::Kind::schema:
    return "schema";
  case orm::DatabaseError::Kind::unknown_outcome:
    return "unknown_outcome";
  case orm::DatabaseError::Kind::full:
    return "full";
  case orm::DatabaseError::Kind::read_only:
    return "read_only";
  case orm::DatabaseError::Kind::other:
    return "other";
  }
  return "other";
}

} // namespace

bool
parse_target(Request& request)
{
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed)
    return false;
  const boost::urls::url_view& url = *parsed;
  request.path = url.path();
  request.query.clear();
  for (const auto& param : url.params())
    request.query[param.key] = param.has_value ? param.value : "";
  return !request.path.empty();
}

Router::Router(ApiContext& context, std::vector<Route> routes)
    : context_(context), routes_(std::move(routes))
{}

Router::Match
Router::match(Request& request) const
{
  Match m;
  if (!parse_target(request)) {
    m.label = "unmatched";
    m.answer = problem(400, "The request target is not a valid path.");
    return m;
  }

  // The allowed methods of the first pattern that fits the path.
  std::string allow;
  for (const auto& route : routes_) {
    Params params;
    if (!path_matches(route.pattern, request.path, params))
      continue;
    if (route.method != request.method) {
      if (allow.find(route.method) == std::string::npos)
        allow += allow.empty() ? route.method : ", " + route.method;
      m.label = route.pattern;
      continue;
    }
    m.label = route.pattern;
    m.route = &route;
    m.params = std::move(params);
    break;
  }

  if (m.route == nullptr) {
    if (allow.empty()) {
      m.label = "unmatched";
      m.answer = problem(404, "No resource at '" + request.path + "'.");
    } else {
      m.answer = problem(405, "Use " + allow + " on '" + request.path + "'.");
      m.answer->headers.emplace_back("Allow", allow);
    }
    return m;
  }

  const Secrets secrets = context_.secrets.get();
  if (m.route->auth == Auth::admin &&
      !bearer_matches(request.header("authorization"), secrets.admin_token)) {
    context_.metrics.auth_failure("admin");
    m.answer = unauthorized(
        "admin", "This route needs 'Authorization: Bearer <admin token>'.");
    m.route = nullptr;
  } else if (m.route->auth == Auth::cron) {
    if (secrets.cron_secret.empty()) {
      m.answer = problem(503, "No cron secret is configured, so the cron "
                              "route is closed; set cron_secret.");
      m.route = nullptr;
    } else if (!bearer_matches(request.header("authorization"),
                               secrets.cron_secret)) {
      context_.metrics.auth_failure("cron");
      m.answer = unauthorized(
          "cron", "This route needs 'Authorization: Bearer <cron secret>'.");
      m.route = nullptr;
    }
  }
  return m;
}

Response
Router::handle(const Match& match, const Request& request) const
{
  static const logging::Log log("admin");
  try {
    return match.route->handler(request, match.params);
  } catch (const HttpError& e) {
    return problem(e.status(), e.detail(), e.errors());
  } catch (const engine::ValidationError& e) {
    return problem(422, e.what(), e.errors());
  } catch (const engine::NotFound& e) {
    return problem(404, e.what());
  } catch (const engine::Conflict& e) {
    return problem(409, e.what());
  } catch (const orm::DatabaseError& e) {
    const std::string kind = kind_name(e.kind());
    context_.metrics.database_error(kind);
    switch (e.kind()) {
    case orm::DatabaseError::Kind::duplicate:
      return problem(409, "The request collides with stored data.");
    case orm::DatabaseError::Kind::unavailable:
    case orm::DatabaseError::Kind::schema: {
      log.warn("database unavailable",
               {{"route", match.label}, {"kind", kind}, {"error", e.what()}});
      Response r = problem(503, "The database is unavailable; nothing was "
                                "written. Try again shortly.");
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    case orm::DatabaseError::Kind::unknown_outcome: {
      log.error("database write outcome unknown",
                {{"route", match.label}, {"error", e.what()}});
      Response r = problem(
          503, "The connection to the database broke while the write was "
               "being committed, and the database has not answered since, so "
               "whether it was stored is unknown. Retry with the same "
               "Idempotency-Key, or look before writing again.");
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    case orm::DatabaseError::Kind::full:
      log.error("database disk full",
                {{"route", match.label}, {"error", e.what()}});
      return problem(507, "The disk holding the database is full (" +
                              std::string(e.what()) +
                              "); nothing was written. Free space there, "
                              "then retry.");
    case orm::DatabaseError::Kind::read_only: {
      log.error("database read-only",
                {{"route", match.label}, {"error", e.what()}});
      Response r =
          problem(503, "The database is read-only (" + std::string(e.what()) +
                           "); nothing was written.");
      r.headers.emplace_back("Retry-After", "30");
      return r;
    }
    case orm::DatabaseError::Kind::other:
      break;
    }
    log.error("database error", {{"route", match.label}, {"error", e.what()}});
    return problem(500, "The database failed the request; nothing was "
                        "written.");
  } catch (const std::exception& e) {
    log.error("request failed", {{"route", match.label}, {"error", e.what()}});
    return problem(500, "The request failed inside pourd; see its log.");
  }
}

} // namespace pourd::admin
