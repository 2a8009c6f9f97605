// Routing: method and path to a handler, with authentication, 404, 405
// and the mapping of every failure to a problem response.
//
// Immutable after construction; any thread may match and handle.
#pragma once

#include "admin/api.hpp"
#include "admin/http_types.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pourd::admin {

enum class Auth
{
  none,
  admin, // the admin bearer token
  cron   // the cron secret
};

using Params = std::vector<std::string>;
using Handler = std::function<Response(const Request&, const Params&)>;

struct Route
{
  std::string method;
  // Literal segments and "{name}" placeholders: "/api/sessions/{id}".
  std::string pattern;
  Auth auth = Auth::admin;
  // True when the handler may touch the database, so it must run on the
  // database pool rather than a network thread.
  bool blocking = true;
  Handler handler;
};

class Router
{
public:
  Router(ApiContext& context, std::vector<Route> routes);

  struct Match
  {
    std::string label;            // route pattern, for metrics and logs
    const Route* route = nullptr; // null when `answer` is set
    Params params;
    std::optional<Response> answer; // 400, 401, 404, 405, 503 decided here
  };

  // Parses the target into `request.path` and `request.query`, finds the
  // route and checks credentials. Cheap: safe on a network thread.
  Match match(Request& request) const;

  // Runs the matched handler; exceptions become problem responses.
  Response handle(const Match& match, const Request& request) const;

private:
  ApiContext& context_;
  std::vector<Route> routes_;
};

// Splits "/a/b?x=1" into a decoded path and query; false when malformed.
bool parse_target(Request& request);

} // namespace pourd::admin
