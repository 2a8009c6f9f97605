// What every row an importer accepts must satisfy, whatever the file said:
// the rules a pour written by the API obeys (DESIGN 1.7, docs/api.md).
#pragma once

#include "engine/import.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include "fuzz/fail.hpp"

namespace pourd::fuzz {

inline bool
printable(const std::string& s)
{
  return std::none_of(s.begin(), s.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

inline void
check_parsed(const engine::ParsedFile& parsed, std::size_t lines)
{
  if (parsed.rows.size() + parsed.errors.size() > parsed.read)
    fail("more rows and errors than rows read");
  std::size_t last_line = 0;
  for (const engine::RowError& e : parsed.errors) {
    if (e.reason.empty())
      fail("a row error without a reason");
    if (e.line > lines)
      fail("a row error past the last line: " + std::to_string(e.line));
    if (e.line < last_line)
      fail("row errors out of line order");
    last_line = e.line;
  }
  for (const engine::ImportRow& row : parsed.rows) {
    const std::string at = " (line " + std::to_string(row.line) + ")";
    if (row.line == 0 || row.line > lines)
      fail("a row on a line the file does not have" + at);
    if (!engine::valid_email(row.user_email))
      fail("a row for a user that is no email: " + row.user_email + at);
    if (row.bottle_name.empty() || !engine::utf8_length(row.bottle_name) ||
        *engine::utf8_length(row.bottle_name) > 255 ||
        !printable(row.bottle_name))
      fail("a row with a bad bottle name" + at);
    if (!engine::plausible_instant(row.utc_ms))
      fail("a row outside 1970-3000" + at);
    if (row.offset_min && !engine::plausible_offset(*row.offset_min))
      fail("a row with an offset places do not use" + at);
    if (row.amount_coz < 10 || row.amount_coz > 1000)
      fail("a row with an amount outside 0.1-10 oz" + at);
    if (row.rating_tenths &&
        (*row.rating_tenths < 0 || *row.rating_tenths > 100))
      fail("a row with a rating outside 0-10" + at);
    if (!engine::utf8_length(row.notes) ||
        *engine::utf8_length(row.notes) > 1000)
      fail("a row with notes over 1000 characters" + at);
    if (row.external_id.empty() || row.external_id.size() > 128 ||
        !printable(row.external_id))
      fail("a row with a bad external id" + at);
    if (!row.location.empty() && !engine::canonical_location(row.location))
      fail("a row with an unknown location: " + row.location + at);
    for (const std::string* set : {&row.tags, &row.companions}) {
      const auto items = engine::split_set(*set);
      if (engine::join_set(items) != *set)
        fail("a row with a set not in stored form" + at);
      for (const std::string& item : items)
        if (item.empty() || !engine::utf8_length(item) ||
            *engine::utf8_length(item) > 64)
          fail("a row with a bad tag or companion" + at);
    }
  }
}

inline std::size_t
line_count(std::string_view text)
{
  return 1 +
         static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Parses `text` as `options` say and checks the outcome: a refused file
// must say why, a parsed one must hold only storable rows.
inline void
parse_and_check(std::string_view text, const engine::ImportOptions& options)
{
  engine::ParsedFile parsed;
  try {
    parsed = engine::parse_import(text, options);
  } catch (const engine::ImportFileError& e) {
    if (std::string_view(e.what()).empty())
      fail("a refused file without a reason");
    return;
  }
  check_parsed(parsed, line_count(text));
}

} // namespace pourd::fuzz
