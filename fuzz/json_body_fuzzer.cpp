// JSON bodies for the routes that take one, straight to the router with
// the admin token: the strict body reader (admin/body.cpp), the handlers'
// validation and the engine's rules, against a SQLite store. Also checks
// that pourd's JSON writer (admin/json.cpp) writes back what it read.
//
// Input: one byte naming the route, then the body.
//   u  POST /api/users            b  POST /api/bottles
//   p  POST /api/pours            P  the same with an Idempotency-Key
//   c  POST /api/sessions/current
// Any other first byte picks one of these by its value.
#include "admin/json.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz/api_fixture.hpp"

namespace {

namespace bj = boost::json;
using namespace pourd;

// Equal as JSON: numbers by value, so 5.0 written as "5" still matches.
// Boost.JSON reads 1e400 as infinity, which JSON cannot hold; pourd's
// writer writes it as null (admin/json.cpp), and so does this. Boost.JSON
// 1.81 does not round long numbers exactly (it has no precise mode), so
// reading back pourd's shortest form of one may land a bit or two away.
bool
same(const bj::value& a, const bj::value& b)
{
  if (a.is_double() && !std::isfinite(a.get_double()))
    return b.is_null();
  if (a.is_number() && b.is_number()) {
    const double x = a.to_number<double>();
    const double y = b.to_number<double>();
    return x == y ||
           std::abs(x - y) <= 1e-15 * std::max(std::abs(x), std::abs(y));
  }
  if (a.kind() != b.kind())
    return false;
  switch (a.kind()) {
  case bj::kind::object: {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size())
      return false;
    for (const auto& kv : x) {
      const bj::value* other = y.if_contains(kv.key());
      if (other == nullptr || !same(kv.value(), *other))
        return false;
    }
    return true;
  }
  case bj::kind::array: {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size())
      return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same(x[i], y[i]))
        return false;
    return true;
  }
  default:
    return a == b;
  }
}

void
check_writer(const std::string& text)
{
  boost::system::error_code ec;
  bj::parse_options options;
  options.max_depth = 16;
  const bj::value v = bj::parse(text, ec, {}, options);
  if (ec)
    return;
  // Boost.JSON keeps the last of repeated keys; so does a second reading.
  const std::string written = json::serialize(v);
  const bj::value again = bj::parse(written, ec, {}, options);
  if (ec)
    fuzz::fail("pourd wrote JSON it cannot read: " + written);
  if (!same(v, again))
    fuzz::fail("pourd's JSON writer changed a value: " + written);
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size == 0)
    return -1;
  auto& fixture = fuzz::ApiFixture::get();
  fixture.next_input();

  static const char* const paths[] = {"/api/users", "/api/bottles",
                                      "/api/pours", "/api/sessions/current"};
  const char which = static_cast<char>(data[0]);
  std::size_t route = data[0] % 4;
  if (which == 'u')
    route = 0;
  else if (which == 'b')
    route = 1;
  else if (which == 'p' || which == 'P')
    route = 2;
  else if (which == 'c')
    route = 3;

  admin::Request request;
  request.method = "POST";
  request.target = paths[route];
  request.headers["authorization"] =
      std::string("Bearer ") + fuzz::k_admin_token;
  request.headers["content-type"] = "application/json";
  if (which == 'P')
    request.headers["idempotency-key"] = "fuzz-key";
  request.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);

  check_writer(request.body);
  fixture.serve(request);
  fixture.check_rules();
  return 0;
}
