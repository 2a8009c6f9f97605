#include "admin/wire.hpp"

#include "admin/problem.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pourd::admin::wire {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool
iequals(std::string_view a, std::string_view b)
{
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](unsigned char x, unsigned char y) {
                      return std::tolower(x) == std::tolower(y);
                    });
}

// Framing that two HTTP implementations could read differently, which is
// how a request gets smuggled past a proxy inside another one's body.
// Beast already refuses Content-Length beside Transfer-Encoding, two
// different Content-Lengths and malformed chunks; it reads any other
// Transfer-Encoding as "no body", so its bytes would become the next
// request. Those, and a missing or doubled Host, are refused here.
std::optional<std::string>
framing_error(const BeastRequest& in)
{
  int encodings = 0;
  int hosts = 0;
  std::string_view encoding;
  for (const auto& field : in) {
    if (field.name() == http::field::transfer_encoding) {
      ++encodings;
      encoding = field.value();
    } else if (field.name() == http::field::host) {
      ++hosts;
    }
  }
  if (encodings > 0) {
    if (in.version() < 11)
      return "Transfer-Encoding is not allowed in an HTTP/1.0 request.";
    while (!encoding.empty() &&
           (encoding.front() == ' ' || encoding.front() == '\t'))
      encoding.remove_prefix(1);
    while (!encoding.empty() &&
           (encoding.back() == ' ' || encoding.back() == '\t'))
      encoding.remove_suffix(1);
    if (encodings > 1 || !iequals(encoding, "chunked"))
      return "The only Transfer-Encoding pourd accepts is a single "
             "'chunked'.";
  }
  if (in.version() >= 11 && hosts != 1)
    return hosts == 0 ? "An HTTP/1.1 request needs a Host header."
                      : "A request may carry only one Host header.";
  return std::nullopt;
}

} // namespace

void
limit(Parser& parser, const ServerOptions& options)
{
  parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
  parser.body_limit(options.body_limit);
}

bool
may_continue(const Parser& parser, const ServerOptions& options,
             boost::system::error_code& ec)
{
  const auto length = parser.content_length();
  if (length && *length > options.body_limit) {
    ec = http::error::body_limit;
    return false;
  }
  return true;
}

std::optional<Response>
framing_failure(const BeastRequest& in)
{
  if (auto bad = framing_error(in))
    return problem(400, *bad);
  return std::nullopt;
}

bool
expected_end(const boost::system::error_code& ec)
{
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::error::timeout ||
         ec == http::error::partial_message;
}

std::optional<Response>
read_failure(const boost::system::error_code& ec, const ServerOptions& options)
{
  if (ec == http::error::body_limit)
    return problem(413, "The body is larger than " +
                            std::to_string(options.body_limit) + " bytes.");
  if (ec == http::error::header_limit)
    return problem(431, "The request headers are too large.");
  if (expected_end(ec))
    return std::nullopt;
  return problem(400,
                 "The request is not valid HTTP/1.1: " + ec.message() + ".");
}

Request
to_request(const BeastRequest& in)
{
  Request r;
  r.method = std::string(in.method_string());
  r.target = std::string(in.target());
  for (const auto& field : in) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
      return static_cast<char>(std::tolower(c));
    });
    r.headers[name] = std::string(field.value());
  }
  r.body = in.body();
  return r;
}

BeastResponse
to_beast(const Response& in, unsigned version, bool keep_alive)
{
  BeastResponse out{static_cast<http::status>(in.status), version};
  out.set(http::field::server, "pourd");
  out.set(http::field::content_type, in.content_type);
  out.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : in.headers)
    out.set(name, value);
  out.body() = in.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

} // namespace pourd::admin::wire
