// The admin API's handlers: pure functions from a request to a response,
// given the context. API.md lists the routes and shapes.
#pragma once

#include "admin/router.hpp"

#include <vector>

namespace pourd::admin {

// Every route of API.md, bound to `context`.
std::vector<Route> api_routes(ApiContext& context);

} // namespace pourd::admin
