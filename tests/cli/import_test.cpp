// The importer: CSV and JSON parsing without a database, then the
// orphan writer on every backend.
#include "engine/import.hpp"
#include "tests/cli/cli_backends.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>

namespace pourd::test {
namespace {

using engine::ImportFileError;
using engine::ImportFormat;
using engine::ImportOptions;
using engine::ParsedFile;

const std::string k_header =
    "checkin_id,created_at_utc,tz_offset_minutes,drink_name,producer,style,"
    "abv,serving_type,rating,venue_category,comment_length\n";

ImportOptions
csv_options()
{
  ImportOptions o;
  o.format = ImportFormat::drink_log_csv;
  o.user_email = "drinker@example.test";
  return o;
}

ImportOptions
json_options()
{
  ImportOptions o;
  o.format = ImportFormat::pours_json;
  return o;
}

// The message of the ImportFileError `text` raises, with its line.
std::string
file_error(const std::string& text, const ImportOptions& options)
{
  try {
    engine::parse_import(text, options);
  } catch (const ImportFileError& e) {
    return std::to_string(e.line()) + ": " + e.what();
  }
  return "no error";
}

// ---------------------------------------------------------------------------
// CSV records

TEST(CsvRecordTest, QuotesCommasAndLineBreaks)
{
  const std::string text =
      "a,\"b, with comma\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x\nlast";
  std::size_t pos = 0, line = 1;
  std::vector<std::string> fields;
  std::string error;

  ASSERT_TRUE(engine::read_csv_record(text, pos, line, fields, error));
  EXPECT_EQ(fields,
            (std::vector<std::string>{"a", "b, with comma", "say \"hi\""}));
  EXPECT_EQ(line, 2u);

  ASSERT_TRUE(engine::read_csv_record(text, pos, line, fields, error));
  EXPECT_EQ(fields, (std::vector<std::string>{"two\nlines", "x"}));
  EXPECT_EQ(line, 4u);

  ASSERT_TRUE(engine::read_csv_record(text, pos, line, fields, error));
  EXPECT_EQ(fields, (std::vector<std::string>{"last"}));
  EXPECT_EQ(pos, text.size());
}

TEST(CsvRecordTest, StrayAndUnclosedQuotesAreErrors)
{
  std::size_t pos = 0, line = 1;
  std::vector<std::string> fields;
  std::string error;
  const std::string stray = "ab\"c,d\nnext,row\n";
  EXPECT_FALSE(engine::read_csv_record(stray, pos, line, fields, error));
  EXPECT_NE(error.find("quote"), std::string::npos);
  // The reader skips to the next line, so later records still parse.
  ASSERT_TRUE(engine::read_csv_record(stray, pos, line, fields, error));
  EXPECT_EQ(fields, (std::vector<std::string>{"next", "row"}));

  pos = 0;
  EXPECT_FALSE(
      engine::read_csv_record("\"never closed,x\n", pos, line, fields, error));
  EXPECT_NE(error.find("not closed"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Ratings

TEST(ScaleRatingTest, MapsOntoTenthsHalfUp)
{
  EXPECT_EQ(engine::scale_rating(3.75, 5), 75);
  EXPECT_EQ(engine::scale_rating(0.25, 5), 5);
  EXPECT_EQ(engine::scale_rating(5, 5), 100);
  EXPECT_EQ(engine::scale_rating(0, 5), 0);
  EXPECT_EQ(engine::scale_rating(0.125, 5), 3); // 2.5 tenths, half up
  EXPECT_EQ(engine::scale_rating(7.3, 10), 73);
  EXPECT_EQ(engine::scale_rating(5.01, 5), std::nullopt);
  EXPECT_EQ(engine::scale_rating(-0.25, 5), std::nullopt);
  EXPECT_EQ(engine::scale_rating(1, 0), std::nullopt);
}

// ---------------------------------------------------------------------------
// Drink log CSV

TEST(DrinkLogCsvTest, MapsEveryColumn)
{
  const std::string text =
      k_header +
      "283107883,2016-03-01T18:06:42Z,60,1664,Kronenbourg Brewery,"
      "Lager - Pale,5.5,Draft,3.75,Brewery,15\n"
      "704983464,2019-01-26T03:55:21Z,-360,\"\"\"British Bitter\"\" Ale\","
      "\"Civil Life, Co.\",Bitter,0,,,Home,0\n";
  const ParsedFile parsed = engine::parse_import(text, csv_options());
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front().reason;
  ASSERT_EQ(parsed.rows.size(), 2u);
  EXPECT_EQ(parsed.read, 2u);

  const engine::ImportRow& a = parsed.rows[0];
  EXPECT_EQ(a.line, 2u);
  EXPECT_EQ(a.external_id, "283107883");
  EXPECT_EQ(a.user_email, "drinker@example.test");
  EXPECT_EQ(a.utc_ms, 1456855602000);
  EXPECT_EQ(a.offset_min, 60);
  EXPECT_EQ(a.bottle_name, "Kronenbourg Brewery 1664");
  EXPECT_EQ(a.amount_coz, 500); // the default 5 oz
  EXPECT_EQ(a.rating_tenths, 75);
  EXPECT_EQ(a.notes, "Lager - Pale, 5.5% ABV");
  EXPECT_EQ(a.tags, "draft");
  EXPECT_EQ(a.location, "Other"); // pourd has no brewery location

  const engine::ImportRow& b = parsed.rows[1];
  EXPECT_EQ(b.offset_min, -360);
  EXPECT_EQ(b.bottle_name, "Civil Life, Co. \"British Bitter\" Ale");
  EXPECT_EQ(b.rating_tenths, std::nullopt); // not rated
  EXPECT_EQ(b.notes, "Bitter");             // ABV 0 means unknown
  EXPECT_EQ(b.tags, "");
  EXPECT_EQ(b.location, "Home");
}

TEST(DrinkLogCsvTest, OptionsChangeAmountAndScale)
{
  ImportOptions o = csv_options();
  o.default_amount_oz = 12;
  o.rating_scale = 10;
  const ParsedFile parsed = engine::parse_import(
      k_header + "1,2020-01-01T00:00:00Z,0,X,Y,,,,7.3,,0\n", o);
  ASSERT_EQ(parsed.rows.size(), 1u);
  EXPECT_EQ(parsed.rows[0].amount_coz, 1200);
  EXPECT_EQ(parsed.rows[0].rating_tenths, 73);
}

TEST(DrinkLogCsvTest, BadRowsAreReportedByLineAndGoodRowsKept)
{
  const std::string text =
      k_header + "1,2020-01-01T20:00:00Z,60,Good,P,,5,,4,,0\n"
                 "2,2020-02-30T20:00:00Z,60,Bad date,P,,5,,4,,0\n"
                 "3,yesterday,60,Bad date,P,,5,,4,,0\n"
                 "4,2020-01-02T20:00:00Z,60min,Bad offset,P,,5,,4,,0\n"
                 "5,2020-01-02T20:00:00Z,60,Bad rating,P,,5,,\"4,5\",,0\n"
                 "6,2020-01-02T20:00:00Z,60,Too high,P,,5,,5.25,,0\n"
                 "7,2020-01-02T20:00:00Z,60,Bad abv,P,,abc,,4,,0\n"
                 "8,2020-01-02T20:00:00Z,60,Short row,P\n"
                 ",2020-01-02T20:00:00Z,60,No id,P,,5,,4,,0\n"
                 "10,2020-01-02T20:00:00Z,60,,P,,5,,4,,0\n"
                 "11,2020-01-03T20:00:00Z,60,Also good,P,,5,,4,,0\n";
  const ParsedFile parsed = engine::parse_import(text, csv_options());
  EXPECT_EQ(parsed.read, 11u);
  ASSERT_EQ(parsed.rows.size(), 2u);
  EXPECT_EQ(parsed.rows[0].external_id, "1");
  EXPECT_EQ(parsed.rows[1].external_id, "11");
  ASSERT_EQ(parsed.errors.size(), 9u);

  const std::vector<std::pair<std::size_t, std::string>> expected = {
      {3, "created_at_utc '2020-02-30T20:00:00Z' is not an RFC 3339 time"},
      {4, "created_at_utc 'yesterday'"},
      {5, "tz_offset_minutes '60min' is not whole minutes"},
      {6, "rating '4,5' is not a number from 0 to 5"},
      {7, "rating '5.25' is not a number from 0 to 5"},
      {8, "abv 'abc' is not a percentage"},
      {9, "expected 11 fields, found 5"},
      {10, "checkin_id is empty"},
      {11, "drink_name is empty"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(parsed.errors[i].line, expected[i].first);
    EXPECT_NE(parsed.errors[i].reason.find(expected[i].second),
              std::string::npos)
        << parsed.errors[i].reason;
  }
}

TEST(DrinkLogCsvTest, DuplicateRowsAreDroppedConflictingOnesReported)
{
  const std::string row = "7,2020-01-01T20:00:00Z,60,A,P,,5,,4,,0\n";
  const std::string text =
      k_header + row + row + row + "7,2020-01-01T20:00:00Z,60,A,P,,5,,3,,0\n";
  const ParsedFile parsed = engine::parse_import(text, csv_options());
  EXPECT_EQ(parsed.read, 4u);
  EXPECT_EQ(parsed.rows.size(), 1u);
  EXPECT_EQ(parsed.duplicates, 2u);
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(parsed.errors[0].line, 5u);
  EXPECT_NE(parsed.errors[0].reason.find("already used on line 2"),
            std::string::npos);
}

TEST(DrinkLogCsvTest, ToleratesBomCrLfBlankLinesAndColumnOrder)
{
  const std::string text =
      "\xEF\xBB\xBF"
      "rating,checkin_id,created_at_utc,tz_offset_minutes,drink_name,"
      "producer,style,abv,serving_type,venue_category,comment_length\r\n"
      "\r\n"
      "4,1,2020-01-01T20:00:00Z,,Ølbryggeri,Nøgne Ø,,,,,0\r\n";
  const ParsedFile parsed = engine::parse_import(text, csv_options());
  ASSERT_EQ(parsed.rows.size(), 1u);
  EXPECT_TRUE(parsed.errors.empty());
  EXPECT_EQ(parsed.rows[0].line, 3u);
  EXPECT_EQ(parsed.rows[0].rating_tenths, 80);
  EXPECT_EQ(parsed.rows[0].bottle_name, "Nøgne Ø Ølbryggeri");
  // No offset in the row: the user's zone decides at write time.
  EXPECT_EQ(parsed.rows[0].offset_min, std::nullopt);
}

TEST(DrinkLogCsvTest, UnusableFilesAreRefusedWhole)
{
  const ImportOptions o = csv_options();
  EXPECT_EQ(file_error("", o), "0: the file is empty");
  EXPECT_EQ(file_error(" \n\n", o), "0: the file is empty");
  EXPECT_NE(file_error("checkin_id,created_at_utc\n1,2\n", o)
                .find("1: wrong header: missing column 'tz_offset_minutes'"),
            std::string::npos);
  EXPECT_NE(
      file_error("beer_name," + k_header, o).find("unknown column 'beer_name'"),
      std::string::npos);
  // A Latin-1 "ø" on line 3.
  const std::string latin1 = k_header +
                             "1,2020-01-01T20:00:00Z,0,A,B,,,,,,0\n"
                             "2,2020-01-01T21:00:00Z,0,N\xF8gne,B,,,,,,0\n";
  EXPECT_NE(file_error(latin1, o).find("3: not valid UTF-8"),
            std::string::npos);
  EXPECT_NE(file_error("\xFF\xFE"
                       "c\0h\0",
                       o)
                .find("UTF-16"),
            std::string::npos);
  EXPECT_NE(file_error(k_header + std::string("1,\0", 3), o).find("NUL"),
            std::string::npos);

  ImportOptions no_user = o;
  no_user.user_email.clear();
  EXPECT_NE(file_error(k_header, no_user).find("--user"), std::string::npos);
  no_user.user_email = "not an email";
  EXPECT_NE(file_error(k_header, no_user).find("not an email address"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// Pours JSON

TEST(PoursJsonTest, ReadsPoursWithAndWithoutOffsets)
{
  const std::string text = R"([
  {"user_email": "a@example.test", "bottle_name": "Rye",
   "poured_at": "2019-03-24T17:51:15+09:00", "amount_oz": 1.5,
   "rating": 8.5, "notes": "smoky", "location": "bar",
   "tags": [" Peat", "peat", "Islay"], "companions": ["Kim"],
   "external_id": 42},
  {"user_email": "B@example.test", "bottle_name": "Gin",
   "poured_at": "2019-03-24T08:51:15Z", "amount_oz": 2}
])";
  const ParsedFile parsed = engine::parse_import(text, json_options());
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front().reason;
  ASSERT_EQ(parsed.rows.size(), 2u);

  const engine::ImportRow& a = parsed.rows[0];
  EXPECT_EQ(a.line, 2u);
  EXPECT_EQ(a.utc_ms, 1553417475000);
  EXPECT_EQ(a.offset_min, 540);
  EXPECT_EQ(a.amount_coz, 150);
  EXPECT_EQ(a.rating_tenths, 85);
  EXPECT_EQ(a.location, "Bar");
  EXPECT_EQ(a.tags, "islay\npeat");
  EXPECT_EQ(a.companions, "kim");
  EXPECT_EQ(a.external_id, "42");

  const engine::ImportRow& b = parsed.rows[1];
  EXPECT_EQ(b.line, 7u);
  EXPECT_EQ(b.offset_min, std::nullopt);
  EXPECT_EQ(b.utc_ms, a.utc_ms);
  // No id given: one derived from the content, the same every time.
  EXPECT_EQ(b.external_id.rfind("row-", 0), 0u);
  EXPECT_EQ(engine::parse_import(text, json_options()).rows[1].external_id,
            b.external_id);
}

TEST(PoursJsonTest, BadPoursAreReportedByLine)
{
  const std::string text = R"([
  {"user_email": "a@example.test", "bottle_name": "Ok",
   "poured_at": "2019-03-24T17:51:15Z", "amount_oz": 1},
  {"user_email": "a@example.test", "bottle_name": "Ok",
   "poured_at": "2019-03-24 noon", "amount_oz": 11, "rating": 7.25,
   "colour": "amber"},
  {"bottle_name": "", "poured_at": "2019-03-24T17:51:15Z"},
  [1, 2]
])";
  const ParsedFile parsed = engine::parse_import(text, json_options());
  EXPECT_EQ(parsed.read, 4u);
  EXPECT_EQ(parsed.rows.size(), 1u);
  ASSERT_EQ(parsed.errors.size(), 3u);

  const std::string& second = parsed.errors[0].reason;
  EXPECT_EQ(parsed.errors[0].line, 4u);
  for (const char* part :
       {"unknown field 'colour'", "poured_at '2019-03-24 noon'",
        "amount_oz must be a number from 0.1 to 10",
        "rating must have at most one decimal"})
    EXPECT_NE(second.find(part), std::string::npos) << second;

  EXPECT_EQ(parsed.errors[1].line, 7u);
  EXPECT_NE(parsed.errors[1].reason.find("user_email is required"),
            std::string::npos);
  EXPECT_NE(parsed.errors[1].reason.find("bottle_name is empty"),
            std::string::npos);
  EXPECT_NE(parsed.errors[1].reason.find("amount_oz is required"),
            std::string::npos);
  EXPECT_EQ(parsed.errors[2].line, 8u);
  EXPECT_EQ(parsed.errors[2].reason, "expected a pour object");
}

TEST(PoursJsonTest, UnusableFilesAreRefusedWhole)
{
  const ImportOptions o = json_options();
  EXPECT_EQ(file_error("", o), "0: the file is empty");
  EXPECT_NE(file_error("[\n {\"a\": 1,\n}\n]", o).find("3: not valid JSON"),
            std::string::npos);
  EXPECT_NE(file_error("[{\"a\": 1}", o).find("not valid JSON"),
            std::string::npos);
  EXPECT_EQ(file_error("{\"pours\": []}", o),
            "0: expected a JSON array of pour objects");
  EXPECT_NE(file_error("[\"\xC3\x28\"]", o).find("not valid UTF-8"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// Writing

class ImportWriteTest : public ::testing::TestWithParam<std::string>
{
protected:
  void SetUp() override
  {
    POURD_SKIP_UNLESS_AVAILABLE(GetParam());
    store_ = fresh_store(GetParam());
  }

  std::vector<orm::Pour> pours(const std::string& email)
  {
    std::vector<orm::Pour> out;
    store_->transact([&](orm::Tx& tx) {
      out.clear();
      const auto user = tx.find_user_by_email(email);
      if (!user.null())
        out = tx.pours_of_user(user->id);
    });
    return out;
  }

  std::unique_ptr<orm::Store> store_;
  engine::Settings settings_;
};

TEST_P(ImportWriteTest, WritesOrphansAndReimportAddsNothing)
{
  ImportOptions o = csv_options();
  o.time_zone = "America/New_York";
  o.batch = 2; // several transactions for five rows
  settings_.day_boundary_min = 5 * 60;
  const std::string text =
      k_header + "1,2020-01-01T03:30:00Z,-300,A,P,,5,Can,4,Bar,0\n"
                 "2,2020-01-01T04:30:00Z,-300,A,P,,5,,,,0\n"
                 "3,2020-01-01T05:30:00Z,,B,P,,5,,,,0\n"    // the user's zone
                 "4,2020-07-01T05:30:00Z,,B,P,,5,,,,0\n"    // ... in summer
                 "5,2020-07-02T12:00:00Z,540,C,Q,,5,,,,0\n" // in Tokyo
                 "5,2020-07-02T12:00:00Z,540,C,Q,,5,,,,0\n";
  const ParsedFile parsed = engine::parse_import(text, o);

  std::vector<std::size_t> progress;
  const auto first = engine::import_rows(
      *store_, settings_, parsed, o,
      [&](std::size_t done, std::size_t) { progress.push_back(done); });
  EXPECT_EQ(first.read, 6u);
  EXPECT_EQ(first.imported, 5u);
  EXPECT_EQ(first.duplicates, 1u);
  EXPECT_EQ(first.bad, 0u);
  EXPECT_EQ(first.users_created, 1u);
  EXPECT_EQ(first.bottles_created, 3u);
  EXPECT_EQ(progress, (std::vector<std::size_t>{2, 4, 5}));

  const auto stored = pours("DRINKER@example.test");
  ASSERT_EQ(stored.size(), 5u);
  for (const orm::Pour& p : stored) {
    EXPECT_TRUE(p.session_id.null()) << "imported pours are orphans";
    EXPECT_EQ(p.amount_coz, 500);
    EXPECT_TRUE(p.auto_grouped);
  }
  // 22:30 local with a 05:00 day boundary is still 2019-12-31.
  EXPECT_EQ(stored[0].utc_offset_min, -300);
  EXPECT_TRUE(stored[0].own_offset);
  EXPECT_EQ(engine::day_text(stored[0].local_day), "2019-12-31");
  ASSERT_FALSE(stored[0].rating_tenths.null());
  EXPECT_EQ(*stored[0].rating_tenths, 80);
  EXPECT_EQ(stored[0].tags, "can");
  EXPECT_EQ(stored[0].location, "Bar");
  EXPECT_EQ(*stored[0].external_id, "1");
  // 00:30 local is before the boundary too.
  EXPECT_EQ(engine::day_text(stored[2].local_day), "2019-12-31");
  EXPECT_FALSE(stored[2].own_offset);
  EXPECT_EQ(stored[2].utc_offset_min, -300);
  EXPECT_EQ(stored[3].utc_offset_min, -240); // daylight saving time
  EXPECT_EQ(stored[4].utc_offset_min, 540);
  EXPECT_EQ(engine::day_text(stored[4].local_day), "2020-07-02");
  EXPECT_EQ(stored[0].bottle_id, stored[1].bottle_id);

  const auto again = engine::import_rows(*store_, settings_, parsed, o);
  EXPECT_EQ(again.imported, 0u);
  EXPECT_EQ(again.duplicates, 6u);
  EXPECT_EQ(again.users_created, 0u);
  EXPECT_EQ(again.bottles_created, 0u);
  EXPECT_EQ(pours("drinker@example.test").size(), 5u);
}

TEST_P(ImportWriteTest, JsonRowsCreateTheirUsersAndUseExistingBottles)
{
  orm::Bottle priced;
  store_->transact([&](orm::Tx& tx) {
    orm::User u;
    u.email = "Known@Example.test";
    u.email_key = "known@example.test";
    u.time_zone = "Europe/Oslo";
    tx.insert(u);
    priced.user_id = u.id;
    priced.name = "Rye";
    priced.price_minor = 5000; // 50.00 for 750 ml
    tx.insert(priced);
  });

  const std::string text = R"([
  {"user_email": "known@example.test", "bottle_name": "Rye",
   "poured_at": "2021-06-01T20:00:00Z", "amount_oz": 2, "external_id": "x"},
  {"user_email": "new@example.test", "bottle_name": "Rye",
   "poured_at": "2021-06-01T20:00:00Z", "amount_oz": 2, "external_id": "x"}
])";
  const ParsedFile parsed = engine::parse_import(text, json_options());
  const auto summary =
      engine::import_rows(*store_, settings_, parsed, json_options());
  EXPECT_EQ(summary.imported, 2u); // the same id for two users is fine
  EXPECT_EQ(summary.users_created, 1u);
  EXPECT_EQ(summary.bottles_created, 1u);

  const auto known = pours("known@example.test");
  ASSERT_EQ(known.size(), 1u);
  EXPECT_EQ(known[0].bottle_id, priced.id);
  EXPECT_EQ(known[0].utc_offset_min, 120); // Oslo summer time
  ASSERT_FALSE(known[0].cost_minor.null());
  EXPECT_EQ(*known[0].cost_minor, engine::pour_cost(5000, 750, 200));

  const auto created = pours("new@example.test");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].utc_offset_min, 0); // default zone UTC
  EXPECT_TRUE(created[0].cost_minor.null());
}

INSTANTIATE_TEST_SUITE_P(Backends, ImportWriteTest,
                         ::testing::ValuesIn(cli_backends()), backend_name);

} // namespace
} // namespace pourd::test
