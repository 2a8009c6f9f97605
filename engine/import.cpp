#include "engine/import.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

namespace pourd::engine {

namespace {

namespace json = boost::json;

constexpr std::size_t k_max_external_id = 128;
constexpr std::size_t k_max_name = 255;
constexpr std::size_t k_max_notes = 1000;
// Real offsets run from -12:00 to +14:00; a little slack, no more.

std::string_view
trim(std::string_view s)
{
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string
lower_ascii(std::string_view s)
{
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::size_t
line_at(std::string_view text, std::size_t offset)
{
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(
                 std::count(text.begin(), text.begin() + offset, '\n'));
}

std::int64_t
now_ms()
{
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// A number written as plain decimal text; nullopt for anything else
// ("1e3", "0x10", "inf", "5,5", trailing junk).
std::optional<double>
parse_decimal(std::string_view s)
{
  if (s.empty())
    return std::nullopt;
  const bool allowed = std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+';
  });
  if (!allowed)
    return std::nullopt;
  if (s.front() == '+')
    s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

std::optional<std::int64_t>
parse_whole(std::string_view s)
{
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

bool
has_control(std::string_view s)
{
  return std::any_of(s.begin(), s.end(),
                     [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// Refuses what no import format can be: NUL bytes, UTF-16 and invalid
// UTF-8. Returns the text without a UTF-8 byte order mark.
std::string_view
check_encoding(std::string_view text)
{
  if (text.size() >= 2 && ((text[0] == '\xFF' && text[1] == '\xFE') ||
                           (text[0] == '\xFE' && text[1] == '\xFF')))
    throw ImportFileError(0, "the file is UTF-16 encoded; convert it to "
                             "UTF-8 (for example with iconv)");
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);

  std::size_t start = 0;
  for (std::size_t line = 1; start < text.size(); ++line) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    const std::string_view one = text.substr(start, end - start);
    if (one.find('\0') != std::string_view::npos)
      throw ImportFileError(line, "the file contains NUL bytes: it is not "
                                  "a text file");
    if (!utf8_length(one))
      throw ImportFileError(line, "not valid UTF-8; the file must be "
                                  "UTF-8 encoded (convert it, for "
                                  "example with iconv)");
    start = end + 1;
  }

  if (trim(text).empty())
    throw ImportFileError(0, "the file is empty");
  return text;
}

std::string
join_errors(const std::vector<std::string>& errors)
{
  std::string out;
  for (const std::string& e : errors) {
    if (!out.empty())
      out += "; ";
    out += e;
  }
  return out;
}

std::string
bottle_name_of(std::string_view producer, std::string_view drink)
{
  if (producer.empty())
    return std::string(drink);
  return std::string(producer) + " " + std::string(drink);
}

// Untappd-style venue categories onto pourd's locations; the categories
// pourd has no place for are "Other".
std::string
location_of_venue(std::string_view category)
{
  if (category.empty())
    return {};
  if (auto known = canonical_location(category))
    return *known;
  return "Other";
}

double
scale_or(const ImportOptions& options, double fallback)
{
  return options.rating_scale ? *options.rating_scale : fallback;
}

// Keeps the first row of each (user, external id); later copies are
// duplicates when identical and errors when not.
void
dedupe(ParsedFile& parsed)
{
  std::unordered_map<std::string, std::size_t> first;
  std::vector<ImportRow> kept;
  kept.reserve(parsed.rows.size());
  for (ImportRow& row : parsed.rows) {
    const std::string key =
        lower_ascii(row.user_email) + '\n' + row.external_id;
    const auto [it, inserted] = first.emplace(key, kept.size());
    if (inserted) {
      kept.push_back(std::move(row));
      continue;
    }
    const ImportRow& earlier = kept[it->second];
    if (earlier.same_values(row))
      ++parsed.duplicates;
    else
      parsed.errors.push_back({row.line, "external id '" + row.external_id +
                                             "' was already used on line " +
                                             std::to_string(earlier.line) +
                                             " with different values"});
  }
  parsed.rows = std::move(kept);
  std::stable_sort(
      parsed.errors.begin(), parsed.errors.end(),
      [](const RowError& a, const RowError& b) { return a.line < b.line; });
}

// --------------------------------------------------------------------------
// Drink log CSV

const std::vector<std::string>&
csv_columns()
{
  static const std::vector<std::string> columns = {"checkin_id",
                                                   "created_at_utc",
                                                   "tz_offset_minutes",
                                                   "drink_name",
                                                   "producer",
                                                   "style",
                                                   "abv",
                                                   "serving_type",
                                                   "rating",
                                                   "venue_category",
                                                   "comment_length"};
  return columns;
}

std::string
expected_header()
{
  std::string out;
  for (const std::string& c : csv_columns())
    out += (out.empty() ? "" : ",") + c;
  return out;
}

// Column positions by name, from the header.
class CsvColumns
{
public:
  explicit CsvColumns(const std::vector<std::string>& header)
  {
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < header.size(); ++i) {
      const std::string name = lower_ascii(trim(header[i]));
      const auto& known = csv_columns();
      if (std::find(known.begin(), known.end(), name) == known.end())
        problems.push_back("unknown column '" + name + "'");
      else if (!index_.emplace(name, i).second)
        problems.push_back("column '" + name + "' appears twice");
    }
    for (const std::string& name : csv_columns())
      if (!index_.count(name))
        problems.push_back("missing column '" + name + "'");
    if (!problems.empty())
      throw ImportFileError(1, "wrong header: " + join_errors(problems) +
                                   "; expected " + expected_header());
  }

  std::string_view get(const std::vector<std::string>& fields,
                       const std::string& name) const
  {
    return trim(fields[index_.at(name)]);
  }

private:
  std::map<std::string, std::size_t> index_;
};

std::optional<ImportRow>
csv_row(const CsvColumns& cols, const std::vector<std::string>& fields,
        std::size_t line, const ImportOptions& options,
        std::vector<std::string>& errors)
{
  ImportRow row;
  row.line = line;
  row.user_email = options.user_email;

  const std::string_view id = cols.get(fields, "checkin_id");
  if (id.empty())
    errors.push_back("checkin_id is empty");
  else if (id.size() > k_max_external_id || has_control(id))
    errors.push_back("checkin_id '" + std::string(id) + "' is not an id");
  row.external_id = id;

  const std::string_view at = cols.get(fields, "created_at_utc");
  if (auto t = parse_time(at); t && plausible_instant(t->utc_ms))
    row.utc_ms = t->utc_ms;
  else if (t)
    errors.push_back("created_at_utc '" + std::string(at) +
                     "' is not between 1970 and 3000");
  else
    errors.push_back("created_at_utc '" + std::string(at) +
                     "' is not an RFC 3339 time like 2019-03-24T16:51:15Z");

  const std::string_view off = cols.get(fields, "tz_offset_minutes");
  if (!off.empty()) {
    const auto v = parse_whole(off);
    if (v && plausible_offset(static_cast<std::int32_t>(*v)))
      row.offset_min = static_cast<std::int32_t>(*v);
    else
      errors.push_back("tz_offset_minutes '" + std::string(off) +
                       "' is not whole minutes from -720 to 840");
  }

  const std::string_view drink = cols.get(fields, "drink_name");
  if (drink.empty())
    errors.push_back("drink_name is empty");
  row.bottle_name = bottle_name_of(cols.get(fields, "producer"), drink);
  if (utf8_length(row.bottle_name).value_or(0) > k_max_name)
    errors.push_back("producer and drink_name are longer than " +
                     std::to_string(k_max_name) + " characters together");
  else if (has_control(row.bottle_name))
    errors.push_back("producer or drink_name holds a line break or other "
                     "control character");

  const double scale = scale_or(options, 5);
  const std::string_view rating = cols.get(fields, "rating");
  if (!rating.empty()) {
    const auto v = parse_decimal(rating);
    const auto tenths = v ? scale_rating(*v, scale) : std::nullopt;
    if (tenths)
      row.rating_tenths = *tenths;
    else
      errors.push_back("rating '" + std::string(rating) +
                       "' is not a number from 0 to " +
                       json::serialize(json::value(scale)));
  }

  const std::string_view abv = cols.get(fields, "abv");
  std::optional<double> abv_value;
  if (!abv.empty()) {
    abv_value = parse_decimal(abv);
    if (!abv_value || *abv_value < 0 || *abv_value > 100)
      errors.push_back("abv '" + std::string(abv) +
                       "' is not a percentage from 0 to 100");
  }

  const std::string_view comment = cols.get(fields, "comment_length");
  if (!comment.empty()) {
    const auto v = parse_whole(comment);
    if (!v || *v < 0)
      errors.push_back("comment_length '" + std::string(comment) +
                       "' is not a whole number");
  }

  // What the log knows about the drink beyond its name goes into the
  // notes and tags, so nothing useful is lost on import.
  const std::string_view style = cols.get(fields, "style");
  row.notes = std::string(style);
  if (abv_value && *abv_value > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g%% ABV", *abv_value);
    row.notes += (row.notes.empty() ? "" : ", ") + std::string(buf);
  }
  if (utf8_length(row.notes).value_or(0) > k_max_notes)
    errors.push_back("style is longer than " + std::to_string(k_max_notes) +
                     " characters");

  const std::string_view serving = cols.get(fields, "serving_type");
  if (!serving.empty()) {
    std::vector<FieldError> tag_errors;
    row.tags = join_set(
        normalize_set({std::string(serving)}, "serving_type", tag_errors));
    for (const FieldError& e : tag_errors)
      errors.push_back(e.field + " " + e.message);
  }
  row.location = location_of_venue(cols.get(fields, "venue_category"));

  row.amount_coz = std::llround(options.default_amount_oz * 100);
  if (!errors.empty())
    return std::nullopt;
  return row;
}

// --------------------------------------------------------------------------
// Pours JSON

// Byte offsets where each element of the top-level array begins, found by
// a scan that only tracks strings and nesting; the JSON itself is
// validated by Boost.JSON.
std::vector<std::size_t>
element_offsets(std::string_view text)
{
  std::vector<std::size_t> out;
  int depth = 0;
  bool in_string = false;
  bool expect_element = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
      continue;
    if (depth == 1 && expect_element && c != ']') {
      out.push_back(i);
      expect_element = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth == 1)
        expect_element = true;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_element = true;
    }
  }
  return out;
}

std::optional<double>
json_number(const json::value& v)
{
  if (!v.is_number())
    return std::nullopt;
  boost::system::error_code ec;
  const double d = v.to_number<double>(ec);
  if (ec || !std::isfinite(d))
    return std::nullopt;
  return d;
}

std::vector<std::string>
json_strings(const json::value& v, const std::string& field,
             std::vector<std::string>& errors)
{
  std::vector<std::string> out;
  if (v.is_null())
    return out;
  if (!v.is_array()) {
    errors.push_back(field + " must be an array of strings");
    return out;
  }
  for (const json::value& item : v.as_array()) {
    if (!item.is_string()) {
      errors.push_back(field + " must be an array of strings");
      return {};
    }
    out.emplace_back(item.as_string());
  }
  return out;
}

std::optional<ImportRow>
json_row(const json::value& value, std::size_t line,
         const ImportOptions& options, std::vector<std::string>& errors)
{
  if (!value.is_object()) {
    errors.push_back("expected a pour object");
    return std::nullopt;
  }
  const json::object& o = value.as_object();
  static const std::set<std::string> known = {
      "user_email", "bottle_name", "poured_at", "amount_oz",  "rating",
      "notes",      "location",    "tags",      "companions", "external_id"};
  for (const auto& member : o)
    if (!known.count(std::string(member.key())))
      errors.push_back("unknown field '" + std::string(member.key()) + "'");

  auto text = [&](const char* key, bool required) -> std::string {
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) {
      if (required)
        errors.push_back(std::string(key) + " is required");
      return {};
    }
    if (!v->is_string()) {
      errors.push_back(std::string(key) + " must be a string");
      return {};
    }
    return std::string(v->as_string());
  };

  ImportRow row;
  row.line = line;

  row.user_email =
      std::string(trim(text("user_email", options.user_email.empty())));
  if (row.user_email.empty())
    row.user_email = options.user_email;
  if (!row.user_email.empty() && !valid_email(row.user_email))
    errors.push_back("user_email '" + row.user_email +
                     "' is not an email address");

  row.bottle_name = std::string(trim(text("bottle_name", true)));
  if (o.if_contains("bottle_name") && row.bottle_name.empty())
    errors.push_back("bottle_name is empty");
  else if (utf8_length(row.bottle_name).value_or(0) > k_max_name)
    errors.push_back("bottle_name is longer than " +
                     std::to_string(k_max_name) + " characters");
  else if (has_control(row.bottle_name))
    errors.push_back("bottle_name holds a control character");

  const std::string at = text("poured_at", true);
  if (auto t = parse_time(at);
      t && (!plausible_instant(t->utc_ms) ||
            (t->offset_min && !plausible_offset(*t->offset_min)))) {
    errors.push_back("poured_at '" + at +
                     "' is not between 1970 and 3000 with an offset from "
                     "-12:00 to +14:00");
  } else if (t) {
    row.utc_ms = t->utc_ms;
    row.offset_min = t->offset_min;
  } else if (!at.empty()) {
    errors.push_back("poured_at '" + at +
                     "' is not an RFC 3339 time like "
                     "2019-03-24T17:51:15+09:00");
  }

  if (const json::value* v = o.if_contains("amount_oz")) {
    const auto oz = json_number(*v);
    if (!oz || *oz < 0.1 || *oz > 10)
      errors.push_back("amount_oz must be a number from 0.1 to 10");
    else
      row.amount_coz = std::llround(*oz * 100);
  } else {
    errors.push_back("amount_oz is required");
  }

  const double scale = scale_or(options, 10);
  if (const json::value* v = o.if_contains("rating"); v && !v->is_null()) {
    const auto r = json_number(*v);
    const auto tenths = r ? scale_rating(*r, scale) : std::nullopt;
    // On pourd's own scale a rating has at most one decimal (DESIGN 1.7);
    // other scales are rounded onto it.
    const bool one_decimal =
        scale != 10 || (r && std::abs(*r * 10 - std::round(*r * 10)) < 1e-9);
    if (!tenths)
      errors.push_back("rating must be a number from 0 to " +
                       json::serialize(json::value(scale)));
    else if (!one_decimal)
      errors.push_back("rating must have at most one decimal");
    else
      row.rating_tenths = *tenths;
  }

  row.notes = text("notes", false);
  if (utf8_length(row.notes).value_or(0) > k_max_notes)
    errors.push_back("notes must be at most " + std::to_string(k_max_notes) +
                     " characters");

  const std::string location = text("location", false);
  if (!location.empty()) {
    if (auto known_location = canonical_location(location))
      row.location = *known_location;
    else
      errors.push_back("location '" + location +
                       "' is not one of Home, Bar, Restaurant, Tasting, "
                       "Friend's Place, Event, Other");
  }

  std::vector<FieldError> set_errors;
  if (const json::value* v = o.if_contains("tags"))
    row.tags = join_set(
        normalize_set(json_strings(*v, "tags", errors), "tags", set_errors));
  if (const json::value* v = o.if_contains("companions"))
    row.companions = join_set(normalize_set(
        json_strings(*v, "companions", errors), "companions", set_errors));
  for (const FieldError& e : set_errors)
    errors.push_back(e.field + " " + e.message);

  if (const json::value* v = o.if_contains("external_id"); v && !v->is_null()) {
    if (v->is_string())
      row.external_id = std::string(trim(v->as_string()));
    else if (v->is_int64() || v->is_uint64())
      row.external_id = json::serialize(*v);
    else
      errors.push_back("external_id must be a string or a whole number");
    if (row.external_id.empty() || row.external_id.size() > k_max_external_id ||
        has_control(row.external_id))
      errors.push_back("external_id must be 1 to " +
                       std::to_string(k_max_external_id) +
                       " printable characters");
  } else {
    // Without an id of its own, a row is known by what it says, so a
    // second import of the same file still adds nothing.
    const std::string identity = row.bottle_name + '\n' +
                                 std::to_string(row.utc_ms) + '\n' +
                                 std::to_string(row.amount_coz);
    std::uint64_t h = 1469598103934665603ull; // FNV-1a
    for (unsigned char c : identity) {
      h ^= c;
      h *= 1099511628211ull;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "row-%016llx",
                  static_cast<unsigned long long>(h));
    row.external_id = buf;
  }

  if (!errors.empty())
    return std::nullopt;
  return row;
}

} // namespace

bool
ImportRow::same_values(const ImportRow& o) const
{
  return lower_ascii(user_email) == lower_ascii(o.user_email) &&
         bottle_name == o.bottle_name && utc_ms == o.utc_ms &&
         offset_min == o.offset_min && amount_coz == o.amount_coz &&
         rating_tenths == o.rating_tenths && notes == o.notes &&
         location == o.location && tags == o.tags &&
         companions == o.companions && external_id == o.external_id;
}

std::optional<std::int32_t>
scale_rating(double rating, double scale)
{
  if (!std::isfinite(rating) || !(scale > 0) || rating < 0 || rating > scale)
    return std::nullopt;
  // The small nudge keeps exact halves (3.25 of 5 is 6.5) from rounding
  // down through binary floating point error.
  return static_cast<std::int32_t>(
      std::floor(rating * 100 / scale + 0.5 + 1e-9));
}

bool
read_csv_record(std::string_view text, std::size_t& pos, std::size_t& line,
                std::vector<std::string>& fields, std::string& error)
{
  fields.clear();
  std::string field;
  bool in_quotes = false;
  bool after_quote = false; // a quoted field just closed

  auto skip_line = [&] {
    const std::size_t nl = text.find('\n', pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
  };

  while (pos < text.size()) {
    const char c = text[pos];
    if (in_quotes) {
      if (c == '"' && pos + 1 < text.size() && text[pos + 1] == '"') {
        field += '"';
        pos += 2;
      } else if (c == '"') {
        in_quotes = false;
        after_quote = true;
        ++pos;
      } else {
        if (c == '\n')
          ++line;
        field += c;
        ++pos;
      }
      continue;
    }
    if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      after_quote = false;
      ++pos;
    } else if (c == '\n' ||
               (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n')) {
      pos += c == '\r' ? 2 : 1;
      ++line;
      fields.push_back(std::move(field));
      return true;
    } else if (after_quote) {
      error = "unexpected text after a closing quote";
      skip_line();
      return false;
    } else if (c == '"') {
      if (!field.empty()) {
        error = "a quote inside an unquoted field";
        skip_line();
        return false;
      }
      in_quotes = true;
      ++pos;
    } else {
      field += c;
      ++pos;
    }
  }
  if (in_quotes) {
    error = "a quoted field is not closed before the end of the file";
    return false;
  }
  fields.push_back(std::move(field));
  return true;
}

ParsedFile
parse_drink_log_csv(std::string_view text, const ImportOptions& options)
{
  text = check_encoding(text);
  if (options.user_email.empty())
    throw ImportFileError(0, "a drink log names no user: give --user EMAIL");
  if (!valid_email(options.user_email))
    throw ImportFileError(0, "--user '" + options.user_email +
                                 "' is not an email address");

  ParsedFile parsed;
  std::size_t pos = 0;
  std::size_t line = 1;
  std::vector<std::string> fields;
  std::string error;

  // Blank lines before the header are tolerated, not data.
  while (pos < text.size() &&
         trim(text.substr(pos, text.find('\n', pos) - pos)).empty()) {
    const std::size_t nl = text.find('\n', pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
  }
  const std::size_t header_line = line;
  if (!read_csv_record(text, pos, line, fields, error))
    throw ImportFileError(header_line, "unreadable header: " + error);
  std::optional<CsvColumns> columns;
  try {
    columns.emplace(fields);
  } catch (const ImportFileError& e) {
    throw ImportFileError(header_line, e.what());
  }
  const std::size_t width = fields.size();

  while (pos < text.size()) {
    const std::size_t start = line;
    if (!read_csv_record(text, pos, line, fields, error)) {
      ++parsed.read;
      parsed.errors.push_back({start, error});
      continue;
    }
    if (fields.size() == 1 && trim(fields[0]).empty())
      continue; // a blank line
    ++parsed.read;
    if (fields.size() != width) {
      parsed.errors.push_back({start, "expected " + std::to_string(width) +
                                          " fields, found " +
                                          std::to_string(fields.size()) +
                                          " (a comma in an unquoted field?)"});
      continue;
    }
    std::vector<std::string> errors;
    if (auto row = csv_row(*columns, fields, start, options, errors))
      parsed.rows.push_back(std::move(*row));
    else
      parsed.errors.push_back({start, join_errors(errors)});
  }
  dedupe(parsed);
  return parsed;
}

ParsedFile
parse_pours_json(std::string_view text, const ImportOptions& options)
{
  text = check_encoding(text);

  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(text.data(), text.size(), ec);
  if (!ec)
    parser.finish(ec);
  if (ec)
    throw ImportFileError(line_at(text, used),
                          "not valid JSON: " + ec.message());
  const json::value root = parser.release();
  if (!root.is_array())
    throw ImportFileError(0, "expected a JSON array of pour objects");

  const auto offsets = element_offsets(text);
  const json::array& items = root.as_array();
  ParsedFile parsed;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::size_t line = i < offsets.size() ? line_at(text, offsets[i]) : 0;
    ++parsed.read;
    std::vector<std::string> errors;
    if (auto row = json_row(items[i], line, options, errors))
      parsed.rows.push_back(std::move(*row));
    else
      parsed.errors.push_back({line, join_errors(errors)});
  }
  dedupe(parsed);
  return parsed;
}

ParsedFile
parse_import(std::string_view text, const ImportOptions& options)
{
  if (options.format == ImportFormat::pours_json)
    return parse_pours_json(text, options);
  return parse_drink_log_csv(text, options);
}

// --------------------------------------------------------------------------
// Writing

ImportSummary
import_rows(orm::Store& store, const Settings& settings,
            const ParsedFile& parsed, const ImportOptions& options,
            const ImportProgress& progress)
{
  ImportSummary summary;
  summary.read = parsed.read;
  summary.duplicates = parsed.duplicates;
  summary.errors = parsed.errors;

  struct UserInfo
  {
    std::int64_t id = 0;
    std::string time_zone;
  };
  struct BottleInfo
  {
    std::int64_t id = 0;
    odb::nullable<std::int64_t> price_minor;
    std::int32_t volume_ml = 750;
  };
  // Known across batches: only rows committed before are kept here.
  std::map<std::string, UserInfo> users;
  std::map<std::pair<std::int64_t, std::string>, BottleInfo> bottles;

  const std::string zone =
      options.time_zone ? *options.time_zone : settings.default_time_zone;
  const std::size_t batch = std::max<std::size_t>(1, options.batch);
  const std::size_t total = parsed.rows.size();

  for (std::size_t first = 0; first < total; first += batch) {
    const std::size_t last = std::min(total, first + batch);

    // The store may run the function again after a recoverable error, so
    // everything it learns is kept aside until the commit.
    std::map<std::string, UserInfo> new_users;
    std::map<std::pair<std::int64_t, std::string>, BottleInfo> new_bottles;
    std::size_t imported = 0, duplicates = 0, users_created = 0,
                bottles_created = 0;

    store.transact([&](orm::Tx& tx) {
      new_users.clear();
      new_bottles.clear();
      imported = duplicates = users_created = bottles_created = 0;
      std::set<std::int64_t> locked;
      const std::int64_t now = now_ms();

      for (std::size_t i = first; i < last; ++i) {
        const ImportRow& row = parsed.rows[i];

        const std::string key = lower_ascii(row.user_email);
        UserInfo user;
        if (auto it = users.find(key); it != users.end()) {
          user = it->second;
        } else if (auto jt = new_users.find(key); jt != new_users.end()) {
          user = jt->second;
        } else if (auto found = tx.find_user_by_email(row.user_email);
                   !found.null()) {
          user = {found->id, found->time_zone};
          new_users[key] = user;
        } else {
          orm::User u;
          u.email = row.user_email;
          u.email_key = email_key(row.user_email);
          u.time_zone = zone;
          u.created_at_ms = now;
          tx.insert(u);
          ++users_created;
          user = {u.id, u.time_zone};
          new_users[key] = user;
        }
        // Serializes with pourd's own writes for this user (DESIGN 2).
        if (locked.insert(user.id).second)
          tx.lock_user(user.id);

        if (!tx.find_pour_by_external_id(user.id, row.external_id).null()) {
          ++duplicates;
          continue;
        }

        const auto bottle_key = std::make_pair(user.id, row.bottle_name);
        BottleInfo bottle;
        if (auto it = bottles.find(bottle_key); it != bottles.end()) {
          bottle = it->second;
        } else if (auto jt = new_bottles.find(bottle_key);
                   jt != new_bottles.end()) {
          bottle = jt->second;
        } else if (auto found =
                       tx.find_bottle_by_name(user.id, row.bottle_name);
                   !found.null()) {
          bottle = {found->id, found->price_minor, found->volume_ml};
          new_bottles[bottle_key] = bottle;
        } else {
          orm::Bottle b;
          b.user_id = user.id;
          b.name = row.bottle_name;
          b.created_at_ms = now;
          tx.insert(b);
          ++bottles_created;
          bottle = {b.id, b.price_minor, b.volume_ml};
          new_bottles[bottle_key] = bottle;
        }

        orm::Pour p;
        p.user_id = user.id;
        p.bottle_id = bottle.id;
        p.poured_at_ms = row.utc_ms;
        p.own_offset = row.offset_min.has_value();
        p.utc_offset_min = row.offset_min
                               ? *row.offset_min
                               : zone_offset(user.time_zone, row.utc_ms);
        p.local_day =
            local_day(row.utc_ms, p.utc_offset_min, settings.day_boundary_min);
        p.amount_coz = row.amount_coz;
        if (row.rating_tenths)
          p.rating_tenths = *row.rating_tenths;
        if (!bottle.price_minor.null())
          p.cost_minor =
              pour_cost(*bottle.price_minor, bottle.volume_ml, p.amount_coz);
        p.notes = row.notes;
        p.location = row.location;
        p.tags = row.tags;
        p.companions = row.companions;
        p.auto_grouped = true;
        p.external_id = row.external_id;
        p.created_at_ms = now;
        tx.insert(p);
        ++imported;
      }
    });

    users.insert(new_users.begin(), new_users.end());
    bottles.insert(new_bottles.begin(), new_bottles.end());
    summary.imported += imported;
    summary.duplicates += duplicates;
    summary.users_created += users_created;
    summary.bottles_created += bottles_created;
    if (progress)
      progress(last, total);
  }
  summary.bad = summary.errors.size();
  return summary;
}

} // namespace pourd::engine
