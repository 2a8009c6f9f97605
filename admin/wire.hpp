// What the server does to a request between the socket and the router:
// the Beast parser with the server's limits, the answer to a read that
// failed, and the conversions between Beast messages and the plain
// Request and Response of http_types.hpp.
//
// Beast lives here, so only server.cpp and the fuzz targets include this
// header; everything else stays on http_types.hpp.
#pragma once

#include "admin/http_types.hpp"
#include "admin/server.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <optional>

namespace pourd::admin::wire {

using Parser =
    boost::beast::http::request_parser<boost::beast::http::string_body>;
using BeastRequest =
    boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse =
    boost::beast::http::response<boost::beast::http::string_body>;

// Applies the header and body limits of `options` to a fresh parser.
void limit(Parser& parser, const ServerOptions& options);

// The 400 answer to a header whose framing two HTTP implementations could
// read differently (request smuggling); nullopt when it is sound.
std::optional<Response> framing_failure(const BeastRequest& in);

// After the header of a request that says "Expect: 100-continue": false
// with `ec` set to body_limit when its declared length is over the limit,
// so the client is refused before it sends the body.
bool may_continue(const Parser& parser, const ServerOptions& options,
                  boost::system::error_code& ec);

// True for errors that only mean the peer went away or the server closed
// the connection on purpose: nothing to answer.
bool expected_end(const boost::system::error_code& ec);

// The answer to a read that failed with `ec` (413, 431 or 400); nullopt
// when the connection just ended.
std::optional<Response> read_failure(const boost::system::error_code& ec,
                                     const ServerOptions& options);

// The plain request of a parsed message: header names lower-cased, a
// repeated header keeping its last value.
Request to_request(const BeastRequest& in);

// The Beast message of an answer, with the server's fixed headers.
BeastResponse to_beast(const Response& in, unsigned version, bool keep_alive);

} // namespace pourd::admin::wire
