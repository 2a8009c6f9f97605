// The JSON shapes of API.md for stored rows, shared by pourd and pourctl.
//
// Boost.JSON only: no network code here, so the CLI can link it cheaply.
#pragma once

#include "orm/model.hxx"

#include <boost/json/value.hpp>

#include <string>

namespace pourd::json {

boost::json::object to_json(const orm::User& user);
boost::json::object to_json(const orm::Bottle& bottle);
boost::json::object to_json(const orm::Session& session);
boost::json::object to_json(const orm::Pour& pour);
boost::json::object to_json(const orm::OrphanGroup& group);

// "auto", "current", "explicit" or "recovered"; "unknown" for a value this
// binary does not know.
std::string origin_text(std::int32_t origin);

// Hundredths (of an ounce, or of a currency unit) as a JSON number.
boost::json::value hundredths(std::int64_t value);

// Like boost::json::serialize, but numbers with a fraction are written in
// plain decimal notation ("1.5", not "1.5E0"), which is what people and
// most JSON readers expect.
std::string serialize(const boost::json::value& value);

} // namespace pourd::json
