#include "engine/rules.hpp"

#include <gtest/gtest.h>

namespace pourd::engine {
namespace {

std::int64_t
ms(const char* text)
{
  return parse_time(text).value().utc_ms;
}

TEST(RulesTest, LocalDaySplitsAtMidnightOfTheOffset)
{
  const auto day = parse_day("2026-12-03").value();
  EXPECT_EQ(local_day(ms("2026-12-03T23:59:59Z"), 0, 0), day);
  EXPECT_EQ(local_day(ms("2026-12-04T00:00:00Z"), 0, 0), day + 1);
  // 22:59:59Z is 23:59:59 at +01:00; one second later is the next day.
  EXPECT_EQ(local_day(ms("2026-12-03T22:59:59Z"), 60, 0), day);
  EXPECT_EQ(local_day(ms("2026-12-03T23:00:00Z"), 60, 0), day + 1);
  // Before 1970 the division must still round down.
  EXPECT_EQ(day_text(local_day(ms("1969-12-31T23:00:00Z"), 0, 0)),
            "1969-12-31");
}

TEST(RulesTest, DayBoundaryMovesTheSplit)
{
  const auto day = parse_day("2026-06-01").value();
  EXPECT_EQ(local_day(ms("2026-06-02T04:59:59Z"), 0, 300), day);
  EXPECT_EQ(local_day(ms("2026-06-02T05:00:00Z"), 0, 300), day + 1);
}

TEST(RulesTest, ParsesRfc3339WithAndWithoutOffset)
{
  auto z = parse_time("2019-03-24T08:51:15Z").value();
  EXPECT_FALSE(z.offset_min.has_value());
  auto o = parse_time("2019-03-24T17:51:15+09:00").value();
  EXPECT_EQ(o.offset_min, 540);
  EXPECT_EQ(o.utc_ms, z.utc_ms);
  auto plus0 = parse_time("2019-03-24T08:51:15+00:00").value();
  EXPECT_EQ(plus0.offset_min, 0);
  auto frac = parse_time("2019-03-24T08:51:15.25Z").value();
  EXPECT_EQ(frac.utc_ms, z.utc_ms + 250);
  auto neg = parse_time("2019-03-24T03:51:15-05:00").value();
  EXPECT_EQ(neg.utc_ms, z.utc_ms);
}

TEST(RulesTest, RejectsMalformedTimes)
{
  for (const char* bad :
       {"", "2019-03-24", "2019-03-24T08:51:15", "2019-02-30T00:00:00Z",
        "2019-03-24T24:00:00Z", "2019-03-24T08:51:15+0900",
        "2019-03-24T08:51:15Zjunk", "2019-03-24T08:51:15.Z",
        "20x9-03-24T08:51:15Z"})
    EXPECT_FALSE(parse_time(bad).has_value()) << bad;
}

TEST(RulesTest, FormatsTimes)
{
  EXPECT_EQ(utc_text(ms("2026-12-03T21:15:00Z")), "2026-12-03T21:15:00Z");
  EXPECT_EQ(utc_text(ms("2026-12-03T21:15:00.5Z")), "2026-12-03T21:15:00.500Z");
  EXPECT_EQ(local_text(ms("2026-12-03T21:15:00Z"), -345),
            "2026-12-03T15:30:00-05:45");
  EXPECT_EQ(session_name(ms("2026-12-03T21:15:00Z"), 60, false),
            "Session 2026-12-03 22:15");
  EXPECT_EQ(session_name(ms("2026-12-03T21:15:00Z"), 60, true),
            "Session 2026-12-03 22:15 (Recovered)");
}

TEST(RulesTest, ZoneOffsetsFollowTzdata)
{
  EXPECT_EQ(zone_offset("Asia/Kathmandu", ms("2026-06-01T00:00:00Z")), 345);
  EXPECT_EQ(zone_offset("Pacific/Kiritimati", ms("2026-06-01T00:00:00Z")), 840);
  EXPECT_EQ(zone_offset("Pacific/Pago_Pago", ms("2026-06-01T00:00:00Z")), -660);
  EXPECT_EQ(zone_offset("Australia/Lord_Howe", ms("2026-01-10T00:00:00Z")),
            660);
  EXPECT_EQ(zone_offset("Australia/Lord_Howe", ms("2026-06-10T00:00:00Z")),
            630);
  EXPECT_TRUE(valid_time_zone("Europe/London"));
  EXPECT_FALSE(valid_time_zone("Mars/Olympus_Mons"));
  EXPECT_FALSE(valid_time_zone(""));
  EXPECT_FALSE(valid_time_zone("localtime"));
}

TEST(RulesTest, AverageRoundsHalfUp)
{
  EXPECT_EQ(average_tenths(0, 0), std::nullopt);
  EXPECT_EQ(average_tenths(75, 2), 38); // 3.75 -> 3.8
  EXPECT_EQ(average_tenths(74, 2), 37);
  EXPECT_EQ(average_tenths(10, 3), 3); // 0.333 -> 0.3
  EXPECT_EQ(average_tenths(20, 3), 7); // 0.666 -> 0.7
}

TEST(RulesTest, CostIsPriceTimesShareOfTheBottle)
{
  // A 750 ml bottle is 25.36 oz: 1.5 oz of a 50.00 bottle is about 2.96.
  EXPECT_EQ(pour_cost(5000, 750, 150), 296);
  EXPECT_EQ(pour_cost(0, 750, 150), 0);
  EXPECT_EQ(pour_cost(100'000'000, 750, 1000), 39431333);
}

TEST(RulesTest, SetsAreTrimmedLowercasedDeduplicatedAndSorted)
{
  std::vector<FieldError> errors;
  auto out =
      normalize_set({" Peaty ", "smoky", "PEATY", "Smoky"}, "tags", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(out, (std::vector<std::string>{"peaty", "smoky"}));
  normalize_set({"ok", "  ", "a\tb"}, "tags", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "tags[1]");
  EXPECT_EQ(errors[1].field, "tags[2]");
  // Lower case beyond ASCII: "ÖL" is "öl", and "Zoë", "zoë", "ZOË" are one.
  EXPECT_EQ(normalize_set({"\xc3\x96L"}, "tags", errors),
            std::vector<std::string>{"\xc3\xb6l"});
  EXPECT_EQ(normalize_set({"Zo\xc3\xab", "zo\xc3\xab", "ZO\xc3\x8b"},
                          "companions", errors),
            std::vector<std::string>{"zo\xc3\xab"});
  EXPECT_EQ(union_sets("a\nc", "b\nc"), "a\nb\nc");
  EXPECT_EQ(split_set(""), std::vector<std::string>{});
}

TEST(RulesTest, Utf8LengthCountsCodePointsAndRejectsBadBytes)
{
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xc3\xb8l"), 2u);        // "øl"
  EXPECT_EQ(utf8_length("\xf0\x9f\x8d\xba"), 1u); // beer mug
  EXPECT_EQ(utf8_length("\xff"), std::nullopt);
  EXPECT_EQ(utf8_length("\xc0\xaf"), std::nullopt);     // overlong '/'
  EXPECT_EQ(utf8_length("\xed\xa0\x80"), std::nullopt); // surrogate
  EXPECT_EQ(utf8_length("\xe2\x82"), std::nullopt);     // truncated
}

TEST(RulesTest, LocationsMatchCaseInsensitively)
{
  EXPECT_EQ(canonical_location("friend's place"), "Friend's Place");
  EXPECT_EQ(canonical_location(" BAR "), "Bar");
  EXPECT_EQ(canonical_location("Pub"), std::nullopt);
}

orm::Session
session_with(std::int64_t first, std::int64_t last)
{
  orm::Session s;
  s.pour_count = 1;
  s.first_pour_ms = first;
  s.last_pour_ms = last;
  return s;
}

TEST(RulesTest, PlanJoinsAPourWithinTheTimeout)
{
  const std::int64_t T = 4 * k_hour_ms;
  auto plan = plan_day({session_with(10 * k_hour_ms, 11 * k_hour_ms)},
                       {15 * k_hour_ms}, T);
  EXPECT_EQ(plan.new_groups, 0u);
  EXPECT_TRUE(plan.pour_targets[0].existing);
  EXPECT_TRUE(plan.touched[0]);

  // Exactly T after the last pour joins; one millisecond more does not.
  plan = plan_day({session_with(0, 0)}, {T}, T);
  EXPECT_TRUE(plan.pour_targets[0].existing);
  plan = plan_day({session_with(0, 0)}, {T + 1}, T);
  EXPECT_FALSE(plan.pour_targets[0].existing);
  EXPECT_EQ(plan.new_groups, 1u);
}

TEST(RulesTest, PlanMergesBridgedSessionsIntoTheEarlier)
{
  const std::int64_t T = 4 * k_hour_ms;
  auto plan = plan_day({session_with(18 * k_hour_ms, 18 * k_hour_ms),
                        session_with(10 * k_hour_ms, 10 * k_hour_ms)},
                       {14 * k_hour_ms}, T);
  EXPECT_EQ(plan.pour_targets[0].index, 1u);
  EXPECT_EQ(plan.merged_into[0], 1u);
  EXPECT_FALSE(plan.merged_into[1].has_value());
}

TEST(RulesTest, PlanGroupsNewPoursRegardlessOfOrder)
{
  const std::int64_t T = 4 * k_hour_ms;
  // 1h, 9h and 5h: 5h bridges the other two into one group.
  auto plan = plan_day({}, {1 * k_hour_ms, 9 * k_hour_ms, 5 * k_hour_ms}, T);
  EXPECT_EQ(plan.new_groups, 1u);
  for (const auto& t : plan.pour_targets)
    EXPECT_EQ(t.index, 0u);

  plan = plan_day({}, {1 * k_hour_ms, 9 * k_hour_ms}, T);
  EXPECT_EQ(plan.new_groups, 2u);
  EXPECT_NE(plan.pour_targets[0].index, plan.pour_targets[1].index);
}

TEST(RulesTest, EmptySessionCountsAtItsCreationTime)
{
  const std::int64_t T = 4 * k_hour_ms;
  orm::Session empty;
  empty.created_at_ms = 10 * k_hour_ms;
  auto plan = plan_day({empty}, {13 * k_hour_ms}, T);
  EXPECT_TRUE(plan.pour_targets[0].existing);
  plan = plan_day({empty}, {15 * k_hour_ms}, T);
  EXPECT_FALSE(plan.pour_targets[0].existing);
}

} // namespace
} // namespace pourd::engine
