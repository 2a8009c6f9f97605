// The store's own statements against what ODB itself reads back: every
// column of bulk-inserted and updated sessions and of inserted pours, text
// that needs escaping included, pours put into many sessions by one
// statement, and the day's sessions as the write path reads them.
#include "tests/engine/engine_fixture.hpp"

#include <optional>
#include <set>

namespace pourd::test {
namespace {

using BulkStoreTest = EngineTest;

template <typename T>
std::optional<T>
value(const odb::nullable<T>& v)
{
  return v.null() ? std::nullopt : std::optional<T>(*v);
}

orm::Session
full_session(std::int64_t user_id, int k)
{
  orm::Session s;
  s.user_id = user_id;
  s.name = "Session " + std::to_string(k) +
           " O'Hara \\ \"quoted\" \xc3\xb8l \xf0\x9f\x8d\xba";
  s.origin = static_cast<std::int32_t>(orm::Origin::recovered);
  s.local_day = 20000 + k;
  s.utc_offset_min = -570 + k;
  s.created_at_ms = 1'700'000'000'000 + k;
  if (k % 2 == 0) {
    s.first_pour_ms = 1'600'000'000'000 + k;
    s.last_pour_ms = 1'600'000'100'000 + k;
    s.auto_first_ms = 1'600'000'000'001 + k;
    s.auto_last_ms = 1'600'000'099'999 + k;
  }
  s.pour_count = k;
  s.total_amount_coz = 150 * k;
  s.total_cost_minor = -7 + k;
  s.rating_sum_tenths = 85 * k;
  s.rated_count = k / 2;
  s.tags = "a'b\n%_\nz\\";
  s.companions = k % 3 ? "" : "Ada\nBo";
  s.location = "Friend's Place";
  return s;
}

void
expect_same(const orm::Session& r, const orm::Session& w)
{
  EXPECT_EQ(r.id, w.id);
  EXPECT_EQ(r.user_id, w.user_id);
  EXPECT_EQ(r.name, w.name);
  EXPECT_EQ(r.origin, w.origin);
  EXPECT_EQ(r.local_day, w.local_day);
  EXPECT_EQ(r.utc_offset_min, w.utc_offset_min);
  EXPECT_EQ(r.created_at_ms, w.created_at_ms);
  EXPECT_EQ(value(r.first_pour_ms), value(w.first_pour_ms));
  EXPECT_EQ(value(r.last_pour_ms), value(w.last_pour_ms));
  EXPECT_EQ(value(r.auto_first_ms), value(w.auto_first_ms));
  EXPECT_EQ(value(r.auto_last_ms), value(w.auto_last_ms));
  EXPECT_EQ(r.pour_count, w.pour_count);
  EXPECT_EQ(r.total_amount_coz, w.total_amount_coz);
  EXPECT_EQ(r.total_cost_minor, w.total_cost_minor);
  EXPECT_EQ(r.rating_sum_tenths, w.rating_sum_tenths);
  EXPECT_EQ(r.rated_count, w.rated_count);
  EXPECT_EQ(r.tags, w.tags);
  EXPECT_EQ(r.companions, w.companions);
  EXPECT_EQ(r.location, w.location);
  EXPECT_EQ(value(r.merged_into), value(w.merged_into));
}

TEST_P(BulkStoreTest, InsertedSessionsReadBackColumnForColumn)
{
  const orm::User user = add_user();
  // More than one INSERT's worth, so chunking is exercised too.
  std::vector<orm::Session> written;
  for (int k = 0; k < 1203; ++k)
    written.push_back(full_session(user.id, k));
  written[7].merged_into = 1; // any id: no foreign key is declared

  store_->transact([&](orm::Tx& tx) {
    std::vector<orm::Session*> rows;
    for (auto& s : written)
      rows.push_back(&s);
    tx.insert_sessions(rows);
  });

  std::set<std::int64_t> ids;
  store_->transact([&](orm::Tx& tx) {
    for (const orm::Session& w : written) {
      ids.insert(w.id);
      auto r = tx.find_session(w.id);
      ASSERT_FALSE(r.null()) << "session " << w.id;
      expect_same(*r, w);
    }
  });
  EXPECT_EQ(ids.size(), written.size()) << "ids must be distinct";
}

TEST_P(BulkStoreTest, PoursGoIntoTheirOwnSessionsInOneCall)
{
  const orm::User user = add_user();
  const orm::Bottle bottle = add_bottle(user.id);
  std::vector<orm::Session> sessions;
  for (int k = 0; k < 3; ++k)
    sessions.push_back(full_session(user.id, k));
  std::vector<std::int64_t> pours;
  store_->transact([&](orm::Tx& tx) {
    std::vector<orm::Session*> rows;
    for (auto& s : sessions)
      rows.push_back(&s);
    tx.insert_sessions(rows);
    for (int k = 0; k < 2500; ++k) {
      orm::Pour p;
      p.user_id = user.id;
      p.bottle_id = bottle.id;
      p.poured_at_ms = 1'600'000'000'000 + k;
      tx.insert(p);
      pours.push_back(p.id);
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> assignments;
    for (std::size_t k = 0; k < pours.size(); ++k)
      if (k % 5 != 4) // every fifth pour stays an orphan
        assignments.emplace_back(pours[k], sessions[k % 3].id);
    tx.assign_pours(assignments);
  });

  store_->transact([&](orm::Tx& tx) {
    for (std::size_t k = 0; k < pours.size(); ++k) {
      auto p = tx.find_pour(pours[k]);
      ASSERT_FALSE(p.null());
      if (k % 5 == 4)
        EXPECT_TRUE(p->session_id.null()) << "pour " << k;
      else
        EXPECT_EQ(value(p->session_id), sessions[k % 3].id) << "pour " << k;
    }
    EXPECT_EQ(tx.count_orphans(), 500);
  });
}

TEST_P(BulkStoreTest, UpdatedSessionsReadBackAsTheDayOfTheWritePath)
{
  const orm::User user = add_user();
  orm::Session a = full_session(user.id, 2); // every time set
  orm::Session b = full_session(user.id, 3); // every time null
  b.local_day = a.local_day;
  orm::Session other_day = full_session(user.id, 4);
  orm::Session merged = full_session(user.id, 5);
  merged.local_day = a.local_day;
  store_->transact([&](orm::Tx& tx) {
    tx.insert(a); // one at a time, as the write path does
    tx.insert(b);
    tx.insert(other_day);
    tx.insert(merged);
  });

  // Swap which of them has times, change every other column, and merge
  // one away: the day then holds a and b only, by id.
  std::swap(a.first_pour_ms, b.first_pour_ms);
  std::swap(a.last_pour_ms, b.last_pour_ms);
  std::swap(a.auto_first_ms, b.auto_first_ms);
  std::swap(a.auto_last_ms, b.auto_last_ms);
  a.name = "Renamed \\'; --";
  a.pour_count = 41;
  a.total_amount_coz = 1;
  a.total_cost_minor = -1;
  a.rating_sum_tenths = 99;
  a.rated_count = 3;
  a.tags = "\xf0\x9f\x8d\xba\nx";
  a.companions = "";
  a.location = "\\";
  a.origin = static_cast<std::int32_t>(orm::Origin::current);
  merged.merged_into = a.id;
  store_->transact([&](orm::Tx& tx) {
    tx.update(a);
    tx.update(b);
    tx.update(merged);
    tx.update(b); // unchanged: still found, no error
  });

  store_->transact([&](orm::Tx& tx) {
    const auto day = tx.live_sessions_on_day(user.id, a.local_day);
    ASSERT_EQ(day.size(), 2u);
    expect_same(day[0], a);
    expect_same(day[1], b);
    auto m = tx.find_session(merged.id);
    ASSERT_FALSE(m.null());
    expect_same(*m, merged);
  });

  orm::Session missing = a;
  missing.id = a.id + 1000;
  EXPECT_ANY_THROW(store_->transact([&](orm::Tx& tx) { tx.update(missing); }));
}

TEST_P(BulkStoreTest, InsertedPourReadsBackColumnForColumn)
{
  const orm::User user = add_user();
  const orm::Bottle bottle = add_bottle(user.id);
  orm::Session s = full_session(user.id, 1);
  orm::Pour full;
  full.user_id = user.id;
  full.bottle_id = bottle.id;
  full.poured_at_ms = 1'600'000'000'123;
  full.utc_offset_min = 330;
  full.local_day = 18500;
  full.amount_coz = 150;
  full.rating_tenths = 85;
  full.cost_minor = 1234;
  full.notes = "O'Hara said \"\\\"\n\t\xc3\xb8l %_";
  full.location = "Bar 'n' Grill";
  full.tags = "a\nb'";
  full.companions = "Ada";
  full.auto_grouped = false;
  full.own_offset = true;
  full.write_token = 987654321012345;
  full.external_id = std::string("ext-'1'");
  full.created_at_ms = 1'700'000'000'000;
  orm::Pour bare; // every optional column null, booleans the other way
  bare.user_id = user.id;
  bare.bottle_id = bottle.id;
  bare.poured_at_ms = 1'600'000'000'124;
  store_->transact([&](orm::Tx& tx) {
    tx.insert(s);
    full.session_id = s.id;
    tx.insert(full);
    tx.insert(bare);
  });
  ASSERT_NE(full.id, bare.id);

  store_->transact([&](orm::Tx& tx) {
    for (const orm::Pour* w : {&full, &bare}) {
      auto r = tx.find_pour(w->id);
      ASSERT_FALSE(r.null()) << "pour " << w->id;
      EXPECT_EQ(r->user_id, w->user_id);
      EXPECT_EQ(r->bottle_id, w->bottle_id);
      EXPECT_EQ(value(r->session_id), value(w->session_id));
      EXPECT_EQ(r->poured_at_ms, w->poured_at_ms);
      EXPECT_EQ(r->utc_offset_min, w->utc_offset_min);
      EXPECT_EQ(r->local_day, w->local_day);
      EXPECT_EQ(r->amount_coz, w->amount_coz);
      EXPECT_EQ(value(r->rating_tenths), value(w->rating_tenths));
      EXPECT_EQ(value(r->cost_minor), value(w->cost_minor));
      EXPECT_EQ(r->notes, w->notes);
      EXPECT_EQ(r->location, w->location);
      EXPECT_EQ(r->tags, w->tags);
      EXPECT_EQ(r->companions, w->companions);
      EXPECT_EQ(r->auto_grouped, w->auto_grouped);
      EXPECT_EQ(r->own_offset, w->own_offset);
      EXPECT_EQ(value(r->write_token), value(w->write_token));
      EXPECT_EQ(value(r->external_id), value(w->external_id));
      EXPECT_EQ(r->created_at_ms, w->created_at_ms);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, BulkStoreTest,
                         ::testing::ValuesIn(backends()), backend_name);

} // namespace
} // namespace pourd::test
