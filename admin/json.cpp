#include "admin/json.hpp"

#include "engine/rules.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace pourd::json {

namespace bj = boost::json;

namespace {

bj::value
time_or_null(const odb::nullable<std::int64_t>& ms)
{
  if (ms.null())
    return nullptr;
  return bj::string(engine::utc_text(*ms));
}

bj::array
set_array(const std::string& stored)
{
  bj::array out;
  for (const auto& item : engine::split_set(stored))
    out.emplace_back(bj::string(item));
  return out;
}

bj::value
text_or_null(const std::string& text)
{
  if (text.empty())
    return nullptr;
  return bj::string(text);
}

void
write(const bj::value& v, std::string& out)
{
  switch (v.kind()) {
  case bj::kind::double_: {
    const double d = v.get_double();
    // JSON has no NaN or infinity; nothing we store produces them.
    if (!std::isfinite(d)) {
      out += "null";
      return;
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    out.append(buf, r.ptr);
    return;
  }
  case bj::kind::object: {
    out += '{';
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first)
        out += ',';
      first = false;
      out += bj::serialize(bj::string(kv.key()));
      out += ':';
      write(kv.value(), out);
    }
    out += '}';
    return;
  }
  case bj::kind::array: {
    out += '[';
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first)
        out += ',';
      first = false;
      write(item, out);
    }
    out += ']';
    return;
  }
  default:
    out += bj::serialize(v);
  }
}

} // namespace

std::string
origin_text(std::int32_t origin)
{
  switch (static_cast<orm::Origin>(origin)) {
  case orm::Origin::auto_grouped:
    return "auto";
  case orm::Origin::current:
    return "current";
  case orm::Origin::explicit_choice:
    return "explicit";
  case orm::Origin::recovered:
    return "recovered";
  }
  return "unknown";
}

bj::value
hundredths(std::int64_t value)
{
  // Whole values stay integers; others become the nearest double, whose
  // shortest form is the exact two-decimal text.
  if (value % 100 == 0)
    return value / 100;
  return static_cast<double>(value) / 100.0;
}

bj::object
to_json(const orm::User& user)
{
  bj::object o;
  o["id"] = user.id;
  o["email"] = user.email;
  o["name"] = user.name;
  o["time_zone"] = user.time_zone;
  o["created_at"] = engine::utc_text(user.created_at_ms);
  return o;
}

bj::object
to_json(const orm::Bottle& bottle)
{
  bj::object o;
  o["id"] = bottle.id;
  o["user_id"] = bottle.user_id;
  o["name"] = bottle.name;
  if (bottle.price_minor.null())
    o["price"] = nullptr;
  else
    o["price"] = hundredths(*bottle.price_minor);
  o["volume_ml"] = bottle.volume_ml;
  o["created_at"] = engine::utc_text(bottle.created_at_ms);
  return o;
}

bj::object
to_json(const orm::Session& s)
{
  bj::object o;
  o["id"] = s.id;
  o["user_id"] = s.user_id;
  o["name"] = s.name;
  o["origin"] = origin_text(s.origin);
  o["local_day"] = engine::day_text(s.local_day);
  // An empty session started when it was made.
  o["started_at"] = engine::utc_text(s.first_pour_ms.null() ? s.created_at_ms
                                                            : *s.first_pour_ms);
  o["last_pour_at"] = time_or_null(s.last_pour_ms);
  o["created_at"] = engine::utc_text(s.created_at_ms);
  o["pour_count"] = s.pour_count;
  o["total_amount_oz"] = hundredths(s.total_amount_coz);
  o["total_cost"] = hundredths(s.total_cost_minor);
  if (const auto avg =
          engine::average_tenths(s.rating_sum_tenths, s.rated_count))
    o["average_rating"] = *avg % 10 == 0
                              ? bj::value(*avg / 10)
                              : bj::value(static_cast<double>(*avg) / 10.0);
  else
    o["average_rating"] = nullptr;
  o["tags"] = set_array(s.tags);
  o["companions"] = set_array(s.companions);
  o["location"] = text_or_null(s.location);
  if (!s.merged_into.null())
    o["merged_into"] = *s.merged_into;
  return o;
}

bj::object
to_json(const orm::Pour& p)
{
  bj::object o;
  o["id"] = p.id;
  o["user_id"] = p.user_id;
  o["bottle_id"] = p.bottle_id;
  if (p.session_id.null())
    o["session_id"] = nullptr;
  else
    o["session_id"] = *p.session_id;
  o["poured_at"] = engine::utc_text(p.poured_at_ms);
  o["local_time"] = engine::local_text(p.poured_at_ms, p.utc_offset_min);
  o["local_day"] = engine::day_text(p.local_day);
  o["amount_oz"] = hundredths(p.amount_coz);
  if (p.rating_tenths.null())
    o["rating"] = nullptr;
  else if (*p.rating_tenths % 10 == 0)
    o["rating"] = *p.rating_tenths / 10;
  else
    o["rating"] = static_cast<double>(*p.rating_tenths) / 10.0;
  if (p.cost_minor.null())
    o["cost"] = nullptr;
  else
    o["cost"] = hundredths(*p.cost_minor);
  o["tags"] = set_array(p.tags);
  o["companions"] = set_array(p.companions);
  o["location"] = text_or_null(p.location);
  o["notes"] = p.notes;
  return o;
}

bj::object
to_json(const orm::OrphanGroup& g)
{
  bj::object o;
  o["user_id"] = g.user_id;
  o["email"] = g.email;
  o["count"] = g.count;
  o["oldest"] = engine::utc_text(g.oldest_ms);
  return o;
}

std::string
serialize(const bj::value& value)
{
  std::string out;
  write(value, out);
  return out;
}

} // namespace pourd::json
