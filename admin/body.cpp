#include "admin/body.hpp"

#include "admin/problem.hpp"

#include <boost/json/parse.hpp>

#include <charconv>
#include <cmath>
#include <optional>

namespace pourd::admin {

namespace bj = boost::json;

namespace {

// NUL has no place in a name or a note, and C strings and terminals
// downstream would cut the text there: refused rather than stored.
constexpr const char* k_no_nul = "must not contain the NUL character (\\u0000)";

int
hex_digit(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// The code unit of a \uXXXX escape at `at` (just past the backslash),
// or -1.
long
escape_unit(std::string_view text, std::size_t at)
{
  if (at + 5 > text.size() || text[at] != 'u')
    return -1;
  long unit = 0;
  for (std::size_t i = at + 1; i < at + 5; ++i) {
    const int d = hex_digit(text[i]);
    if (d < 0)
      return -1;
    unit = unit * 16 + d;
  }
  return unit;
}

// Byte offset of the first \uD800-\uDFFF escape that is not half of a
// surrogate pair, if any.
std::optional<std::size_t>
lone_surrogate(std::string_view text)
{
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '\\')
      continue;
    const long unit = escape_unit(text, i + 1);
    if (unit >= 0xDC00 && unit <= 0xDFFF)
      return i;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const long next = i + 6 < text.size() && text[i + 6] == '\\'
                            ? escape_unit(text, i + 7)
                            : -1;
      if (next < 0xDC00 || next > 0xDFFF)
        return i;
      i += 11;
      continue;
    }
    ++i; // the escaped character, which may be a backslash
  }
  return std::nullopt;
}

// Byte offset of the first byte that is not valid UTF-8, if any.
std::optional<std::size_t>
bad_utf8(std::string_view text)
{
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    // The lead byte tells the length of its code point.
    std::size_t len = 1;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0xF0)
      len = 4;
    else if (c >= 0xE0)
      len = 3;
    else if (c >= 0xC0)
      len = 2;
    if (start + len > text.size() ||
        !engine::utf8_length(text.substr(start, len)))
      return start;
    i += len;
  }
  return std::nullopt;
}

// Why `text` failed to parse, in words a client can act on.
std::string
parse_failure(std::string_view text, const boost::system::error_code& ec)
{
  if (const auto at = bad_utf8(text))
    return "The body is not valid UTF-8 (byte " + std::to_string(*at) + ").";
  if (const auto at = lone_surrogate(text))
    return "The body holds a \\u escape of half a surrogate pair (byte " +
           std::to_string(*at) +
           "), which is no Unicode character; send the pair or the "
           "character itself.";
  return "The body is not valid JSON: " + ec.message() + ".";
}

} // namespace

Body::Body(std::string_view text, std::vector<std::string_view> known)
{
  if (text.empty())
    throw HttpError(400, "The request needs a JSON object body.");
  boost::system::error_code ec;
  bj::parse_options options;
  options.max_depth = 16;
  bj::value v = bj::parse(text, ec, {}, options);
  if (ec)
    throw HttpError(400, parse_failure(text, ec));
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
  if (v->get_string().find('\0') != bj::string::npos) {
    fail(std::string(name), k_no_nul);
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
    if (a[i].get_string().find('\0') != bj::string::npos) {
      fail(std::string(name) + "[" + std::to_string(i) + "]", k_no_nul);
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
