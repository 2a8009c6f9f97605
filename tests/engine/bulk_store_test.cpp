// The store's multi-row writes against what ODB itself reads back: every
// column of a bulk-inserted session, text that needs escaping included, and
// pours put into many sessions by one statement.
#include "tests/engine/engine_fixture.hpp"

#include <optional>
#include <set>

namespace pourd::test {
namespace {

using BulkStoreTest = EngineTest;

std::optional<std::int64_t>
value(const odb::nullable<std::int64_t>& v)
{
  return v.null() ? std::nullopt : std::optional<std::int64_t>(*v);
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
      EXPECT_EQ(r->user_id, w.user_id);
      EXPECT_EQ(r->name, w.name);
      EXPECT_EQ(r->origin, w.origin);
      EXPECT_EQ(r->local_day, w.local_day);
      EXPECT_EQ(r->utc_offset_min, w.utc_offset_min);
      EXPECT_EQ(r->created_at_ms, w.created_at_ms);
      EXPECT_EQ(value(r->first_pour_ms), value(w.first_pour_ms));
      EXPECT_EQ(value(r->last_pour_ms), value(w.last_pour_ms));
      EXPECT_EQ(value(r->auto_first_ms), value(w.auto_first_ms));
      EXPECT_EQ(value(r->auto_last_ms), value(w.auto_last_ms));
      EXPECT_EQ(r->pour_count, w.pour_count);
      EXPECT_EQ(r->total_amount_coz, w.total_amount_coz);
      EXPECT_EQ(r->total_cost_minor, w.total_cost_minor);
      EXPECT_EQ(r->rating_sum_tenths, w.rating_sum_tenths);
      EXPECT_EQ(r->rated_count, w.rated_count);
      EXPECT_EQ(r->tags, w.tags);
      EXPECT_EQ(r->companions, w.companions);
      EXPECT_EQ(r->location, w.location);
      EXPECT_EQ(value(r->merged_into), value(w.merged_into));
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

INSTANTIATE_TEST_SUITE_P(Backends, BulkStoreTest,
                         ::testing::ValuesIn(backends()), backend_name);

} // namespace
} // namespace pourd::test
