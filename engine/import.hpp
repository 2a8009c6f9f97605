// The legacy importer: drink logs and pour dumps become orphaned pours.
//
// Imported rows bypass the session engine on purpose: they are written as
// orphans (no session) and the sweep, or `pourctl fix-orphaned-pours`,
// groups them by the same rules as live pours. Parsing is pure and keeps
// every good row even when others are bad; writing dedupes on the pour's
// external id, so importing a file twice adds nothing.
#pragma once

#include "engine/rules.hpp"
#include "orm/store.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pourd::engine {

enum class ImportFormat
{
  drink_log_csv, // the anonymised check-in CSV of ../shared/data
  pours_json     // a JSON array of pour objects
};

// The amount given to CSV rows, which carry none: a small beer pour,
// inside the 0.1-10 oz range every pour must respect.
inline constexpr double k_default_import_amount_oz = 5.0;

struct ImportOptions
{
  ImportFormat format = ImportFormat::drink_log_csv;
  // Owner of every CSV row; JSON rows name their own user.
  std::string user_email;
  // Zone of users the import creates; the default zone when absent.
  std::optional<std::string> time_zone;
  double default_amount_oz = k_default_import_amount_oz;
  // Ratings run from 0 to this in the file and are mapped onto 0-10;
  // absent: 5 for CSV (Untappd's scale), 10 for JSON (pourd's own).
  std::optional<double> rating_scale;
  std::size_t batch = 1000; // rows per transaction
};

// The file cannot be used at all (empty, wrong header, wrong encoding,
// not JSON): nothing is imported.
class ImportFileError : public std::runtime_error
{
public:
  ImportFileError(std::size_t line, const std::string& what)
      : std::runtime_error(what), line_(line)
  {}

  // The line the problem was found on; 0 when it is about the whole file.
  std::size_t line() const { return line_; }

private:
  std::size_t line_;
};

// A row rejected while parsing or writing; `line` is 1-based.
struct RowError
{
  std::size_t line = 0;
  std::string reason;
};

// One valid row, ready to become a pour.
struct ImportRow
{
  std::size_t line = 0;
  std::string user_email;
  std::string bottle_name;
  std::int64_t utc_ms = 0;
  std::optional<std::int32_t> offset_min; // the row's own offset
  std::int64_t amount_coz = 0;
  std::optional<std::int32_t> rating_tenths;
  std::string notes;
  std::string location;
  std::string tags;       // stored form: sorted, newline-separated
  std::string companions; // likewise
  std::string external_id;

  bool same_values(const ImportRow& other) const;
};

struct ParsedFile
{
  std::size_t read = 0; // data rows seen, good or bad
  std::vector<ImportRow> rows;
  std::vector<RowError> errors;
  std::size_t duplicates = 0; // rows repeating an earlier row of the file
};

// Parse `text` (the whole file). Throws ImportFileError when the file is
// unusable; otherwise bad rows land in `errors` and the rest in `rows`.
// Rows repeating the external id of an earlier row are dropped (counted
// in `duplicates` when identical, reported as errors when not).
ParsedFile parse_import(std::string_view text, const ImportOptions& options);

ParsedFile parse_drink_log_csv(std::string_view text,
                               const ImportOptions& options);
ParsedFile parse_pours_json(std::string_view text,
                            const ImportOptions& options);

// Splits one CSV record starting at `pos` (RFC 4180 quoting; fields may
// span lines). Advances `pos` past the record and `line` past its line
// breaks. False with `error` set on an unterminated quote or a stray one.
bool read_csv_record(std::string_view text, std::size_t& pos, std::size_t& line,
                     std::vector<std::string>& fields, std::string& error);

// Maps `rating` on 0..`scale` onto tenths of 0..10, rounded half up.
std::optional<std::int32_t> scale_rating(double rating, double scale);

struct ImportSummary
{
  std::size_t read = 0;
  std::size_t imported = 0;
  std::size_t duplicates = 0; // in the file or already in the database
  std::size_t bad = 0;
  std::size_t users_created = 0;
  std::size_t bottles_created = 0;
  std::vector<RowError> errors; // parse errors and rows the store refused
};

// Called after each committed batch with rows done and rows in total.
using ImportProgress = std::function<void(std::size_t, std::size_t)>;

// Writes parsed rows as orphaned pours, `options.batch` per transaction,
// creating missing users (zone from the options, else settings) and
// bottles (by name, per user). Rows whose external id the user already
// has are counted as duplicates. Throws orm::DatabaseError.
ImportSummary import_rows(orm::Store& store, const Settings& settings,
                          const ParsedFile& parsed,
                          const ImportOptions& options,
                          const ImportProgress& progress = {});

} // namespace pourd::engine
