#include "admin/body.hpp"

#include "admin/problem.hpp"

#include <boost/json/parse.hpp>

#include <charconv>
#include <cmath>

namespace pourd::admin {

namespace bj = boost::json;

Body::Body(std::string_view text, std::vector<std::string_view> known)
{
  if (text.empty())
    throw HttpError(400, "The request needs a JSON object body.");
  boost::system::error_code ec;
  bj::parse_options options;
  options.max_depth = 16;
  bj::value v = bj::parse(text, ec, {}, options);
  if (ec)
    throw HttpError(400, "The body is not valid JSON: " + ec.message() + ".");
  if (!v.is_object())
    throw HttpError(400, "The body must be a JSON object.");
  object_ = std::move(v.get_object());
  for (const auto& kv : object_) {
    bool ok = false;
    for (auto k : known)
      ok = ok || kv.key() == k;
    if (!ok)
      errors_.push_back({std::string(kv.key()), "is not a known field"});
  }
}

const bj::value*
Body::find(std::string_view name, bool required)
{
  const bj::value* v = object_.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (required)
      errors_.push_back({std::string(name), "is required"});
    return nullptr;
  }
  return v;
}

std::optional<std::int64_t>
Body::id(std::string_view name, bool required)
{
  const bj::value* v = find(name, required);
  if (v == nullptr)
    return std::nullopt;
  std::int64_t n = 0;
  if (v->is_int64())
    n = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() <= INT64_MAX)
    n = static_cast<std::int64_t>(v->get_uint64());
  else {
    fail(std::string(name), "must be a positive integer");
    return std::nullopt;
  }
  if (n <= 0) {
    fail(std::string(name), "must be a positive integer");
    return std::nullopt;
  }
  return n;
}

std::optional<std::string>
Body::text(std::string_view name, bool required)
{
  const bj::value* v = find(name, required);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_string()) {
    fail(std::string(name), "must be a string");
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<double>
Body::number(std::string_view name, bool required)
{
  const bj::value* v = find(name, required);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_number()) {
    fail(std::string(name), "must be a number");
    return std::nullopt;
  }
  const double d = v->to_number<double>();
  if (!std::isfinite(d)) {
    fail(std::string(name), "must be a finite number");
    return std::nullopt;
  }
  return d;
}

std::vector<std::string>
Body::text_list(std::string_view name)
{
  std::vector<std::string> out;
  const bj::value* v = find(name, false);
  if (v == nullptr)
    return out;
  if (!v->is_array()) {
    fail(std::string(name), "must be an array of strings");
    return out;
  }
  const auto& a = v->get_array();
  if (a.size() > 100) {
    fail(std::string(name), "may hold at most 100 entries");
    return out;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) {
      fail(std::string(name) + "[" + std::to_string(i) + "]",
           "must be a string");
      continue;
    }
    out.emplace_back(a[i].get_string());
  }
  return out;
}

void
Body::fail(std::string field, std::string message)
{
  errors_.push_back({std::move(field), std::move(message)});
}

void
Body::finish() const
{
  if (!errors_.empty())
    throw HttpError(422, "The request has invalid fields.", errors_);
}

std::optional<std::int64_t>
parse_id(std::string_view text)
{
  std::int64_t n = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      n <= 0)
    return std::nullopt;
  return n;
}

} // namespace pourd::admin
