// Rules against the time zones that bite: DST changes, half-hour and
// 45-minute offsets, the date line, day boundaries and travellers.
#include "tests/engine/engine_fixture.hpp"

namespace pourd::test {
namespace {

class TimeZoneTest : public EngineTest
{
protected:
  // Pours `times` for a new user in `zone`; returns each pour's session id.
  std::vector<std::int64_t> pours_in(const std::string& zone,
                                     const std::vector<std::string>& times)
  {
    auto u = add_user(zone);
    auto b = add_bottle(u.id);
    std::vector<std::int64_t> out;
    for (const auto& t : times) {
      auto r = pour(u.id, b.id, t);
      last_ = r;
      out.push_back(r.session.id);
    }
    EXPECT_TRUE(engine().check(u.id).empty()) << zone;
    return out;
  }

  engine::PourResult last_;
};

TEST_P(TimeZoneTest, NewYorkSpringForwardKeepsFourHoursOfRealTime)
{
  // 2026-03-08 02:00 EST becomes 03:00 EDT. 01:30 EST and 06:30 EDT are
  // exactly 4 h apart in real time, though 5 h apart on the wall clock.
  auto s = pours_in(
      "America/New_York",
      {"2026-03-08T06:30:00Z", "2026-03-08T10:30:00Z", "2026-03-08T14:30:01Z"});
  EXPECT_EQ(s[0], s[1]);
  EXPECT_NE(s[1], s[2]);
  EXPECT_EQ(
      engine::local_text(last_.pour.poured_at_ms, last_.pour.utc_offset_min),
      "2026-03-08T10:30:01-04:00");
}

TEST_P(TimeZoneTest, NewYorkFallBackRepeatsAnHourWithinOneSession)
{
  // 01:30 EDT, then 01:30 EST one real hour later: same day, one session.
  auto u = add_user("America/New_York");
  auto b = add_bottle(u.id);
  auto a = pour(u.id, b.id, "2026-11-01T05:30:00Z");
  auto c = pour(u.id, b.id, "2026-11-01T06:30:00Z");
  EXPECT_EQ(a.session.id, c.session.id);
  EXPECT_EQ(a.pour.utc_offset_min, -240);
  EXPECT_EQ(c.pour.utc_offset_min, -300);
  EXPECT_EQ(a.pour.local_day, c.pour.local_day);
  EXPECT_EQ(engine::day_text(a.session.local_day), "2026-11-01");
}

TEST_P(TimeZoneTest, LondonMidnightSplitsOneSecondApart)
{
  // The night before the 2026-03-29 change: 23:59:59 and 00:00:00 GMT.
  auto s = pours_in("Europe/London",
                    {"2026-03-28T23:59:59Z", "2026-03-29T00:00:00Z"});
  EXPECT_NE(s[0], s[1]);
  // Across the autumn change (2026-10-25 02:00 BST -> 01:00 GMT).
  s = pours_in("Europe/London", {"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z",
                                 "2026-10-25T04:30:00Z"});
  EXPECT_EQ(s[0], s[1]);
  EXPECT_EQ(s[1], s[2]);
}

TEST_P(TimeZoneTest, LordHoweHalfHourDaylightSaving)
{
  // +11:00 in January: 13:00Z is midnight.
  auto s = pours_in("Australia/Lord_Howe",
                    {"2026-01-10T12:59:59Z", "2026-01-10T13:00:00Z"});
  EXPECT_NE(s[0], s[1]);
  // 2026-04-05 02:00 +11:00 falls back to 01:30 +10:30; the repeated half
  // hour stays in one session and one day.
  auto u = add_user("Australia/Lord_Howe");
  auto b = add_bottle(u.id);
  auto a = pour(u.id, b.id, "2026-04-04T14:45:00Z"); // 01:45 +11:00
  auto c = pour(u.id, b.id, "2026-04-04T15:15:00Z"); // 01:45 +10:30
  EXPECT_EQ(a.pour.utc_offset_min, 660);
  EXPECT_EQ(c.pour.utc_offset_min, 630);
  EXPECT_EQ(a.session.id, c.session.id);
}

TEST_P(TimeZoneTest, KathmanduQuarterHourOffset)
{
  auto s = pours_in("Asia/Kathmandu",
                    {"2026-06-01T18:14:59Z", "2026-06-01T18:15:00Z"});
  EXPECT_NE(s[0], s[1]);
  EXPECT_EQ(
      engine::local_text(last_.pour.poured_at_ms, last_.pour.utc_offset_min),
      "2026-06-02T00:00:00+05:45");
}

TEST_P(TimeZoneTest, KiritimatiAndPagoPagoAcrossTheDateLine)
{
  auto s = pours_in("Pacific/Kiritimati",
                    {"2026-06-01T09:59:59Z", "2026-06-01T10:00:00Z"});
  EXPECT_NE(s[0], s[1]);
  EXPECT_EQ(engine::day_text(last_.session.local_day), "2026-06-02");
  s = pours_in("Pacific/Pago_Pago",
               {"2026-06-02T10:59:59Z", "2026-06-02T11:00:00Z"});
  EXPECT_NE(s[0], s[1]);
  EXPECT_EQ(engine::day_text(last_.session.local_day), "2026-06-02");
}

TEST_P(TimeZoneTest, BarDayBoundaryAtFive)
{
  engine::Settings settings;
  settings.day_boundary_min = 5 * 60;
  engine(settings);
  auto s = pours_in("UTC", {"2026-06-01T23:00:00Z", "2026-06-02T02:00:00Z",
                            "2026-06-02T04:59:59Z", "2026-06-02T05:00:00Z"});
  EXPECT_EQ(s[0], s[1]);
  EXPECT_EQ(s[1], s[2]);
  EXPECT_NE(s[2], s[3]);
  EXPECT_EQ(engine::day_text(last_.session.local_day), "2026-06-02");
}

TEST_P(TimeZoneTest, TravellerPoursUseTheirOwnOffset)
{
  // An Oslo user in Tokyo: 23:00 and 01:00 Tokyo time are two local days.
  auto u = add_user("Europe/Oslo");
  auto b = add_bottle(u.id);
  auto a = pour(u.id, b.id, "2019-03-24T23:00:00+09:00");
  auto c = pour(u.id, b.id, "2019-03-25T01:00:00+09:00");
  EXPECT_NE(a.session.id, c.session.id);
  EXPECT_EQ(engine::local_text(c.pour.poured_at_ms, c.pour.utc_offset_min),
            "2019-03-25T01:00:00+09:00");
  EXPECT_TRUE(c.pour.own_offset);

  // The same instants sent as UTC fall on one Oslo day: one session.
  auto v = add_user("Europe/Oslo");
  auto vb = add_bottle(v.id);
  auto x = pour(v.id, vb.id, "2019-03-24T14:00:00Z");
  auto y = pour(v.id, vb.id, "2019-03-24T16:00:00Z");
  EXPECT_EQ(x.session.id, y.session.id);
  EXPECT_EQ(x.pour.utc_offset_min, 60);
  EXPECT_FALSE(x.pour.own_offset);
}

TEST_P(TimeZoneTest, ChangingTheUsersZoneDoesNotMovePastPours)
{
  auto u = add_user("Europe/Oslo");
  auto b = add_bottle(u.id);
  // 01:30 in Oslo on 2026-06-02.
  auto old = pour(u.id, b.id, "2026-06-01T23:30:00Z");
  store_->transact([&](orm::Tx& tx) {
    auto user = *tx.find_user(u.id);
    user.time_zone = "America/New_York";
    tx.update(user);
  });
  // 19:45 in New York on 2026-06-01: another day, so another session.
  auto now = pour(u.id, b.id, "2026-06-01T23:45:00Z");
  EXPECT_NE(old.session.id, now.session.id);
  auto view = engine().session(old.session.id);
  EXPECT_EQ(engine::day_text(view.session.local_day), "2026-06-02");
  ASSERT_EQ(view.pours.size(), 1u);
  EXPECT_EQ(view.pours[0].utc_offset_min, 120);
  EXPECT_EQ(engine::day_text(now.session.local_day), "2026-06-01");
  EXPECT_TRUE(engine().check(u.id).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, TimeZoneTest,
                         ::testing::ValuesIn(backends()), backend_name);

} // namespace
} // namespace pourd::test
