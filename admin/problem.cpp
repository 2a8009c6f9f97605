#include "admin/problem.hpp"

#include "admin/json.hpp"

#include <boost/json/object.hpp>

#include <string_view>

namespace pourd::admin {

namespace {

// `text` with every byte that is not part of valid UTF-8 replaced by
// U+FFFD. Details quote what the client sent, and a percent-decoded path
// or query can hold any bytes; JSON must be UTF-8.
std::string
valid_utf8(std::string_view text)
{
  if (engine::utf8_length(text))
    return std::string(text);
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t n = lead < 0x80    ? 1
                          : lead >= 0xF0 ? 4
                          : lead >= 0xE0 ? 3
                                         : 2;
    if (i + n <= text.size() && engine::utf8_length(text.substr(i, n)) == 1u) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

} // namespace

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
  o["detail"] = valid_utf8(detail);
  if (!errors.empty()) {
    boost::json::array list;
    for (const auto& e : errors) {
      boost::json::object item;
      item["field"] = valid_utf8(e.field);
      item["message"] = valid_utf8(e.message);
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
