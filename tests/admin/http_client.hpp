// A small blocking HTTP/1.1 client over loopback sockets, for driving the
// real pourd binary. One connection per request unless told otherwise.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pourd::test {

struct HttpResult
{
  int status = 0;                             // 0 when no answer came
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;
  std::string error; // why there is no answer

  const std::string& header(const std::string& lower) const;
  // The body as JSON; a null value when it is not JSON.
  boost::json::value json() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Sends one request and reads one answer (Content-Length framed).
HttpResult http(unsigned short port, const std::string& method,
                const std::string& target, const std::string& body = "",
                const Headers& headers = {});

// Sends `bytes` as they are and reads one answer.
HttpResult raw_http(unsigned short port, const std::string& bytes);

// Sends several requests on one keep-alive connection; one answer each.
std::vector<HttpResult> pipeline(unsigned short port,
                                 const std::vector<std::string>& requests);

// True when nothing accepts connections on the port any more.
bool refuses_connections(unsigned short port);

// A client bound to one daemon and its admin token.
class Api
{
public:
  Api(unsigned short port, std::string token)
      : port_(port), token_(std::move(token))
  {}

  HttpResult get(const std::string& target) const;
  HttpResult post(const std::string& target, const std::string& body,
                  Headers extra = {}) const;
  HttpResult post(const std::string& target, const boost::json::value& body,
                  Headers extra = {}) const;
  HttpResult post(const std::string& target, const char* body,
                  Headers extra = {}) const
  {
    return post(target, std::string(body), std::move(extra));
  }

  unsigned short port() const { return port_; }
  const std::string& token() const { return token_; }

private:
  unsigned short port_;
  std::string token_;
};

} // namespace pourd::test
