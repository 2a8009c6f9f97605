// The session rules as pure functions: local days, time zones, validation,
// statistics and the grouping decision. No database, no I/O.
#pragma once

#include "orm/model.hxx"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pourd::engine {

inline constexpr std::int64_t k_minute_ms = 60'000;
inline constexpr std::int64_t k_hour_ms = 60 * k_minute_ms;
inline constexpr std::int64_t k_day_ms = 24 * k_hour_ms;

struct Settings
{
  std::int64_t session_timeout_ms = 4 * k_hour_ms; // T
  std::int64_t current_window_ms = 2 * k_hour_ms;  // W
  std::int32_t day_boundary_min = 0;               // local time a day ends
  std::string default_time_zone = "UTC";
};

struct FieldError
{
  std::string field;
  std::string message;
};

// --------------------------------------------------------------------------
// Time

// The local day (days since 1970-01-01) of an instant seen at `offset_min`,
// with days split at `boundary_min` minutes after local midnight.
std::int32_t local_day(std::int64_t utc_ms, std::int32_t offset_min,
                       std::int32_t boundary_min);

// True when `name` is an IANA time zone known to the system's tzdata.
bool valid_time_zone(const std::string& name);

// The UTC offset in minutes of zone `name` at the instant. Throws
// std::runtime_error for an unknown zone.
std::int32_t zone_offset(const std::string& name, std::int64_t utc_ms);

// "2026-12-03" for a day number, and back (nullopt when malformed).
std::string day_text(std::int32_t day);
std::optional<std::int32_t> parse_day(std::string_view text);

// RFC 3339: "2026-12-03T21:15:00Z", and with the local offset
// "2026-12-03T22:15:00+01:00". Milliseconds appear only when not zero.
std::string utc_text(std::int64_t utc_ms);
std::string local_text(std::int64_t utc_ms, std::int32_t offset_min);

struct ParsedTime
{
  std::int64_t utc_ms = 0;
  std::optional<std::int32_t> offset_min; // absent for a "Z" time
};

// Parses an RFC 3339 date-time; nullopt when malformed.
std::optional<ParsedTime> parse_time(std::string_view text);

// Pours happen between 1970 and the year 3000: earlier instants get
// pre-standard zone offsets, later ones dates of five digits.
bool plausible_instant(std::int64_t utc_ms);

// UTC offsets places use: -12:00 to +14:00. Every zone offset since
// 1970 lies in that range too.
constexpr std::int32_t k_min_offset_min = -12 * 60;
constexpr std::int32_t k_max_offset_min = 14 * 60;
bool plausible_offset(std::int32_t offset_min);

// "Session 2026-12-03 21:15", plus " (Recovered)" when `recovered`.
std::string session_name(std::int64_t utc_ms, std::int32_t offset_min,
                         bool recovered);

// --------------------------------------------------------------------------
// Values

// An address like name@example.com: at most 255 characters of UTF-8, one
// part before and after the '@', no spaces, separators or control bytes.
bool valid_email(std::string_view email);

// The form that makes emails unique: ASCII letters lower-cased.
std::string email_key(std::string_view email);

// Canonical location name for a case-insensitive match, else nullopt.
std::optional<std::string> canonical_location(std::string_view text);

// Trimmed, lower-cased, deduplicated, sorted. Reports bad entries under
// `field` ("tags[2]").
std::vector<std::string> normalize_set(const std::vector<std::string>& in,
                                       const std::string& field,
                                       std::vector<FieldError>& errors);

// Sets are stored sorted and newline-separated.
std::string join_set(const std::vector<std::string>& items);
std::vector<std::string> split_set(const std::string& text);
std::string union_sets(const std::string& a, const std::string& b);

// Number of Unicode code points; nullopt when `text` is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view text);

// Cost of `amount_coz` hundredths of an ounce from a bottle of
// `volume_ml` priced `price_minor`, rounded half up to a minor unit.
std::int64_t pour_cost(std::int64_t price_minor, std::int32_t volume_ml,
                       std::int64_t amount_coz);

// Average rating in tenths, rounded half up; nullopt with no rated pour.
std::optional<std::int64_t> average_tenths(std::int64_t sum_tenths,
                                           std::int64_t count);

// Adds one pour to a session's statistics; a pour that becomes the first
// renames the session after its time.
void add_to_stats(orm::Session& session, const orm::Pour& pour);

// Recomputes a session's statistics from all of its pours.
void recompute_stats(orm::Session& session,
                     const std::vector<orm::Pour>& pours);

// --------------------------------------------------------------------------
// Grouping

// Where a session can take automatically grouped pours: the span of those
// it has; else, when it holds only pours placed in it by choice, their
// span; else, while it is empty, its creation time.
struct Span
{
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
};

Span span_of(const orm::Session& session);

// True when a pour at `utc_ms` is within the timeout of the span.
bool fits(const Span& span, std::int64_t utc_ms, std::int64_t timeout_ms);

// How one local day's pours join that day's sessions. Pours are grouped in
// time order; a pour that fits several groups merges them into the one
// that began first, an existing session winning over a new group.
struct DayPlan
{
  struct Target
  {
    bool existing = false;
    std::size_t index = 0; // into the sessions given, or the new groups
  };

  // For each pour given, the group it ends in.
  std::vector<Target> pour_targets;
  // How many new sessions the day needs.
  std::size_t new_groups = 0;
  // For each existing session given: the existing session it merges into,
  // or nullopt when it stays.
  std::vector<std::optional<std::size_t>> merged_into;
  // Existing sessions that take at least one pour.
  std::vector<bool> touched;
};

// `sessions` are the day's live sessions; `pour_times` need not be sorted.
DayPlan plan_day(const std::vector<orm::Session>& sessions,
                 const std::vector<std::int64_t>& pour_times,
                 std::int64_t timeout_ms);

} // namespace pourd::engine
