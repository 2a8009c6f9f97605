#include "admin/problem.hpp"

#include "admin/json.hpp"

#include <boost/json/object.hpp>

namespace pourd::admin {

std::string
status_title(unsigned status)
{
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Content";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  case 507:
    return "Insufficient Storage";
  }
  return "Error";
}

Response
problem(unsigned status, const std::string& detail,
        const std::vector<engine::FieldError>& errors)
{
  boost::json::object o;
  o["type"] = "about:blank";
  o["title"] = status_title(status);
  o["status"] = status;
  o["detail"] = detail;
  if (!errors.empty()) {
    boost::json::array list;
    for (const auto& e : errors) {
      boost::json::object item;
      item["field"] = e.field;
      item["message"] = e.message;
      list.push_back(std::move(item));
    }
    o["errors"] = std::move(list);
  }
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(o);
  return r;
}

} // namespace pourd::admin
