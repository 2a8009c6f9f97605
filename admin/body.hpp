// Strict reading of JSON request bodies: malformed JSON is a 400, and a
// wrong type, a missing required field or a field this route does not know
// is a 422 naming the field. Nothing reaches the engine until all is well.
#pragma once

#include "engine/rules.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pourd::admin {

class Body
{
public:
  // Parses `text` as one JSON object whose fields are among `known`.
  // Throws HttpError(400) when it is not JSON or not an object.
  Body(std::string_view text, std::vector<std::string_view> known);

  // Each getter records an error and returns nullopt when the field is
  // present with a wrong type, or absent while `required`. JSON null
  // counts as absent.
  std::optional<std::int64_t> id(std::string_view name, bool required);
  std::optional<std::string> text(std::string_view name, bool required);
  std::optional<double> number(std::string_view name, bool required);
  std::vector<std::string> text_list(std::string_view name);

  // Records an error found by the caller.
  void fail(std::string field, std::string message);

  // Throws HttpError(422) listing every recorded error, if any.
  void finish() const;

private:
  const boost::json::value* find(std::string_view name, bool required);

  boost::json::object object_;
  std::vector<engine::FieldError> errors_;
};

// A positive integer from a path segment or query value; nullopt if not.
std::optional<std::int64_t> parse_id(std::string_view text);

} // namespace pourd::admin
