// Plain HTTP request and response values that handlers work on, so that
// handlers, the router and their tests never include Beast.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pourd::admin {

struct Request
{
  std::string method; // "GET", "POST", ...
  std::string target; // path and query as sent
  std::string path;   // decoded path
  std::map<std::string, std::string> query;
  // Names lower-cased; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;

  const std::string* header(const std::string& lower_name) const
  {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response
{
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

} // namespace pourd::admin
