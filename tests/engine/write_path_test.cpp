// A new pour's write path: a statement failing amid the pour's writes,
// text that needs escaping, offsets at the ends of the range, explicit
// sessions, merges and replays, each read back as stored, and
// connections the server dropped.
#include "config/database_url.hpp"
#include "tests/engine/engine_fixture.hpp"

#include <memory>
#include <optional>

namespace pourd::test {
namespace {

using WritePathTest = EngineTest;

orm::Pour
plain_pour(std::int64_t user_id, std::int64_t bottle_id, std::int64_t at_ms)
{
  orm::Pour p;
  p.user_id = user_id;
  p.bottle_id = bottle_id;
  p.poured_at_ms = at_ms;
  p.local_day = 20000;
  p.amount_coz = 100;
  return p;
}

orm::Session
plain_session(std::int64_t user_id)
{
  orm::Session s;
  s.user_id = user_id;
  s.name = "Session";
  s.local_day = 20000;
  return s;
}

// A pour of one ounce for `user_id` at `at_ms`.
engine::NewPour
one_ounce(std::int64_t user_id, std::int64_t bottle_id, std::int64_t at_ms)
{
  engine::NewPour in;
  in.user_id = user_id;
  in.bottle_id = bottle_id;
  in.amount_oz = 1;
  in.poured_at = engine::Instant{at_ms, std::nullopt};
  return in;
}

TEST_P(WritePathTest, DuplicatePourLeavesNoSessionAndTheStoreWorks)
{
  const auto u = add_user();
  const auto b = add_bottle(u.id);
  orm::Pour first = plain_pour(u.id, b.id, 1'000);
  first.external_id = std::string("x");
  store_->transact([&](orm::Tx& tx) { tx.insert(first); });

  orm::Pour again = plain_pour(u.id, b.id, 2'000);
  again.external_id = std::string("x");
  orm::Session opened = plain_session(u.id);
  orm::Session other = plain_session(u.id);
  store_->transact([&](orm::Tx& tx) { tx.insert(other); });
  other.pour_count = 5;
  try {
    store_->transact(
        [&](orm::Tx& tx) { tx.insert_pour(again, &opened, {&other}); });
    ADD_FAILURE() << "a duplicate external id was stored";
  } catch (const orm::DatabaseError& e) {
    EXPECT_EQ(e.kind(), orm::DatabaseError::Kind::duplicate) << e.what();
  }
  EXPECT_EQ(sessions_total(), 1);
  EXPECT_EQ(pours_total(), 1);
  store_->transact([&](orm::Tx& tx) {
    EXPECT_EQ(tx.find_session(other.id)->pour_count, 0);
  });
  const auto r = pour(u.id, b.id, "2026-12-03T20:00:00Z");
  EXPECT_EQ(r.session.pour_count, 1);
  EXPECT_EQ(pours_total(), 2);
  EXPECT_EQ(sessions_total(), 2);
}

TEST_P(WritePathTest, MissingSessionLeavesNothingAndTheStoreWorks)
{
  const auto u = add_user();
  const auto b = add_bottle(u.id);
  orm::Pour p = plain_pour(u.id, b.id, 1'000);
  orm::Session opened = plain_session(u.id);
  orm::Session ghost = plain_session(u.id);
  ghost.id = 987654;
  EXPECT_THROW(store_->transact(
                   [&](orm::Tx& tx) { tx.insert_pour(p, &opened, {&ghost}); }),
               orm::DatabaseError);
  EXPECT_EQ(sessions_total(), 0);
  EXPECT_EQ(pours_total(), 0);
  pour(u.id, b.id, "2026-12-03T20:00:00Z");
  pour(u.id, b.id, "2026-12-03T20:30:00Z");
  EXPECT_EQ(pours_total(), 2);
  EXPECT_EQ(sessions_total(), 1);
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(WritePathTest, TextThatNeedsEscapingReadsBack)
{
  const auto u = add_user();
  const auto b = add_bottle(u.id);
  engine::NewPour in = one_ounce(u.id, b.id, at("2026-12-03T20:00:00Z"));
  in.notes = "a\\'; DELETE FROM pourd_pour; -- \" \\\\ %_ \xf0\x9f\x8d\xba";
  in.tags = {"o'h\\", "\xc3\xb8l;"};
  in.companions = {"Bo \"B\""};
  in.location = "Friend's Place";
  const auto r = engine().create_pour(in);
  in.poured_at = engine::Instant{at("2026-12-03T20:10:00Z"), std::nullopt};
  in.tags = {"x'"};
  const auto r2 = engine().create_pour(in);
  EXPECT_EQ(r.session.id, r2.session.id);
  store_->transact([&](orm::Tx& tx) {
    const auto p = tx.find_pour(r.pour.id);
    ASSERT_FALSE(p.null());
    EXPECT_EQ(p->notes, in.notes);
    EXPECT_EQ(p->tags, r.pour.tags);
    EXPECT_EQ(p->companions, r.pour.companions);
    EXPECT_EQ(p->location, "Friend's Place");
    const auto s = tx.find_session(r2.session.id);
    ASSERT_FALSE(s.null());
    EXPECT_EQ(s->tags, r2.session.tags);
    EXPECT_EQ(s->companions, r2.session.companions);
    EXPECT_EQ(s->pour_count, 2);
  });
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(WritePathTest, OwnOffsetsAtBothEndsFindTheirDaysSessions)
{
  engine::Settings settings;
  settings.day_boundary_min = 300;
  engine(settings);
  const auto u = add_user("Pacific/Kiritimati");
  const auto b = add_bottle(u.id);
  // A week apart, so no two offsets' pours meet.
  const std::pair<const char*, const char*> cases[] = {{"+14:00", "2026-11-0"},
                                                       {"-12:00", "2026-11-1"},
                                                       {"+05:45", "2026-11-2"},
                                                       {"-09:30", "2026-10-0"}};
  for (const auto& [off, month] : cases) {
    const std::string o = off;
    const std::string m = month;
    const auto a = pour(u.id, b.id, m + "3T05:10:00" + o);
    const auto c = pour(u.id, b.id, m + "3T06:10:00" + o);
    const auto d = pour(u.id, b.id, m + "4T04:50:00" + o);
    const auto e = pour(u.id, b.id, m + "4T01:00:00" + o);
    EXPECT_EQ(a.session.id, c.session.id) << o;
    EXPECT_EQ(d.session.id, e.session.id) << o;
    EXPECT_NE(a.session.id, d.session.id) << o;
    EXPECT_EQ(a.pour.local_day, d.pour.local_day) << o;
  }
  const auto z = pour(u.id, b.id, "2026-12-05T10:00:00Z");
  const auto y = pour(u.id, b.id, "2026-12-05T11:00:00Z");
  EXPECT_EQ(z.session.id, y.session.id);
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(WritePathTest, ExplicitSessionAndBridgingPourWriteWhatTheyAnswer)
{
  const auto u = add_user("Europe/Oslo");
  const auto b = add_bottle(u.id, 40.0);
  const auto a = pour(u.id, b.id, "2026-12-03T10:00:00Z", 1, 5);
  const auto c = pour(u.id, b.id, "2026-12-03T18:00:00Z", 2, 7);
  ASSERT_NE(a.session.id, c.session.id);
  engine::NewPour in;
  in.user_id = u.id;
  in.bottle_id = b.id;
  in.amount_oz = 1.25;
  in.rating = 3.5;
  in.poured_at = engine::Instant{at("2026-12-03T21:30:00Z"), std::nullopt};
  in.session_id = a.session.id;
  const auto x = engine().create_pour(in);
  EXPECT_EQ(x.session.id, a.session.id);
  EXPECT_EQ(x.session.pour_count, 2);
  const auto stored_as_answered = [&](const engine::PourResult& r) {
    store_->transact([&](orm::Tx& tx) {
      const auto s = tx.find_session(r.session.id);
      ASSERT_FALSE(s.null());
      EXPECT_EQ(s->pour_count, r.session.pour_count);
      EXPECT_EQ(s->total_amount_coz, r.session.total_amount_coz);
      EXPECT_EQ(s->total_cost_minor, r.session.total_cost_minor);
      EXPECT_EQ(s->rating_sum_tenths, r.session.rating_sum_tenths);
      EXPECT_EQ(s->name, r.session.name);
      const auto p = tx.find_pour(r.pour.id);
      ASSERT_FALSE(p.null());
      EXPECT_EQ(*p->session_id, r.session.id);
    });
  };
  stored_as_answered(x);
  const auto m = pour(u.id, b.id, "2026-12-03T14:00:00Z", 0.5);
  EXPECT_EQ(m.session.pour_count, 4);
  stored_as_answered(m);
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(WritePathTest, IdempotentReplayFindsThePourAndItsNewSession)
{
  const auto u = add_user();
  const auto b = add_bottle(u.id);
  engine::NewPour in = one_ounce(u.id, b.id, at("2026-12-03T20:00:00Z"));
  const auto first = engine().create_pour(in, "k1");
  const auto again = engine().create_pour(in, "k1");
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.pour.id, first.pour.id);
  EXPECT_EQ(again.session.id, first.session.id);
  EXPECT_EQ(again.session.pour_count, 1);
  EXPECT_EQ(pours_total(), 1);
}

// Puts the fixture's store on a fresh MySQL database with its schema
// and returns a second store on the same database.
std::unique_ptr<orm::Store>
open_pair_on(std::unique_ptr<orm::Store>& store)
{
  const std::string url = fresh_database_url("mysql");
  store = orm::Store::open(config::parse_database_url(url));
  store->migrate();
  return orm::Store::open(config::parse_database_url(url));
}

// The server dropped every connection of the pool, each opened or used
// less than a second ago, so none is pinged: the pour's first statement
// fails, and its one rerun must find a connection that answers rather
// than the next dropped one. The pour is written once.
TEST_P(WritePathTest, DroppedConnectionsCostOneRerun)
{
  if (GetParam() != "mysql")
    GTEST_SKIP() << "MySQL connections only";
  auto killer = open_pair_on(store_);
  const auto u = add_user();
  const auto b = add_bottle(u.id);
  pour(u.id, b.id, "2026-12-03T19:00:00Z");
  std::vector<std::string> kinds;
  store_->set_retry_observer(
      [&](const char* kind, bool) { kinds.push_back(kind); });
  killer->transact([](orm::Tx& tx) {
    tx.execute("BEGIN NOT ATOMIC FOR c IN (SELECT id FROM "
               "information_schema.processlist WHERE db = DATABASE() AND "
               "id <> CONNECTION_ID()) DO KILL c.id; END FOR; END");
  });
  const auto r = pour(u.id, b.id, "2026-12-03T20:00:00Z");
  EXPECT_EQ(kinds, std::vector<std::string>{"connection_lost"});
  EXPECT_EQ(pours_total(), 2);
  EXPECT_EQ(r.session.pour_count, 2);
  EXPECT_TRUE(engine().check().empty());
}

// The readiness probe reads a table on a pooled connection, which runs
// with autocommit off: left open, that read would hold the table's
// metadata lock until the connection's next transaction, and a schema
// change (pourctl migrate) would wait for it.
TEST_P(WritePathTest, ReadinessProbeLeavesNoTransactionOpen)
{
  if (GetParam() != "mysql")
    GTEST_SKIP() << "MySQL connections only";
  auto other = open_pair_on(store_);
  ASSERT_TRUE(store_->ping());
  std::vector<std::string> kinds;
  other->set_retry_observer(
      [&](const char* kind, bool) { kinds.push_back(kind); });
  other->transact([](orm::Tx& tx) {
    tx.execute("SET SESSION lock_wait_timeout = 1");
    tx.execute("ALTER TABLE schema_version COMMENT = 'probed'");
  });
  EXPECT_TRUE(kinds.empty());
}

} // namespace

INSTANTIATE_TEST_SUITE_P(Backends, WritePathTest,
                         ::testing::ValuesIn(backends()), backend_name);

} // namespace pourd::test
