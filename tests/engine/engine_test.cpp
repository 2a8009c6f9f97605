#include "config/database_url.hpp"
#include "tests/engine/engine_fixture.hpp"

namespace pourd::test {
namespace {

using engine::Conflict;
using engine::NotFound;
using engine::ValidationError;

// The field names a ValidationError carries.
std::vector<std::string>
fields_of(const std::function<void()>& fn)
{
  try {
    fn();
  } catch (const ValidationError& e) {
    std::vector<std::string> out;
    for (const auto& f : e.errors())
      out.push_back(f.field);
    return out;
  }
  ADD_FAILURE() << "no ValidationError was thrown";
  return {};
}

TEST_P(EngineTest, FirstPourCreatesASessionWithExactStatistics)
{
  auto u = add_user("Europe/Oslo");
  auto b = add_bottle(u.id, 50.0);
  auto r = pour(u.id, b.id, "2026-12-03T20:00:00Z", 1.5, 4.3);
  EXPECT_EQ(*r.pour.session_id, r.session.id);
  EXPECT_EQ(r.session.pour_count, 1);
  EXPECT_EQ(r.session.total_amount_coz, 150);
  EXPECT_EQ(r.session.total_cost_minor, 296);
  EXPECT_EQ(r.session.rating_sum_tenths, 43);
  EXPECT_EQ(r.session.rated_count, 1);
  EXPECT_EQ(r.session.name, "Session 2026-12-03 21:00");
  EXPECT_EQ(r.session.origin, static_cast<int>(orm::Origin::auto_grouped));
  EXPECT_EQ(engine::day_text(r.session.local_day), "2026-12-03");
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(EngineTest, PoursWithinTheTimeoutShareASession)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  auto a = pour(u.id, b.id, "2026-12-03T10:00:00Z");
  auto c = pour(u.id, b.id, "2026-12-03T14:00:00Z"); // exactly T later
  auto d = pour(u.id, b.id, "2026-12-03T18:00:01Z"); // T + 1 s later
  EXPECT_EQ(a.session.id, c.session.id);
  EXPECT_NE(c.session.id, d.session.id);
  EXPECT_EQ(c.session.pour_count, 2);
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(EngineTest, LatePourExtendsASessionBackwards)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  auto a = pour(u.id, b.id, "2026-12-03T12:00:00Z");
  auto c = pour(u.id, b.id, "2026-12-03T09:00:00Z");
  EXPECT_EQ(a.session.id, c.session.id);
  EXPECT_EQ(*c.session.first_pour_ms, at("2026-12-03T09:00:00Z"));
  EXPECT_EQ(*c.session.last_pour_ms, at("2026-12-03T12:00:00Z"));
}

TEST_P(EngineTest, BridgingPourMergesIntoTheEarlierSession)
{
  auto u = add_user();
  auto b = add_bottle(u.id, 40.0);
  auto early = pour(u.id, b.id, "2026-12-03T10:00:00Z", 2.0, 8.0);
  auto late = pour(u.id, b.id, "2026-12-03T18:00:00Z", 1.0, 7.0);
  ASSERT_NE(early.session.id, late.session.id);

  auto bridge = pour(u.id, b.id, "2026-12-03T14:00:00Z", 1.5);
  EXPECT_EQ(bridge.session.id, early.session.id);
  EXPECT_EQ(bridge.session.pour_count, 3);
  EXPECT_EQ(bridge.session.total_amount_coz, 450);
  EXPECT_EQ(bridge.session.total_cost_minor, early.pour.cost_minor.get() +
                                                 late.pour.cost_minor.get() +
                                                 bridge.pour.cost_minor.get());
  EXPECT_EQ(bridge.session.rated_count, 2);
  EXPECT_EQ(engine::average_tenths(bridge.session.rating_sum_tenths,
                                   bridge.session.rated_count),
            75);
  EXPECT_EQ(*bridge.session.first_pour_ms, at("2026-12-03T10:00:00Z"));
  EXPECT_EQ(*bridge.session.last_pour_ms, at("2026-12-03T18:00:00Z"));

  auto gone = engine().session(late.session.id);
  ASSERT_FALSE(gone.session.merged_into.null());
  EXPECT_EQ(*gone.session.merged_into, early.session.id);
  EXPECT_TRUE(gone.pours.empty());
  EXPECT_EQ(engine().session(early.session.id).pours.size(), 3u);
  EXPECT_EQ(engine().sessions(u.id, {}, {}).size(), 1u);
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(EngineTest, PoursPlacedByChoiceDoNotStretchAutomaticGrouping)
{
  auto u = add_user("America/New_York");
  auto b = add_bottle(u.id);
  // 18:00 local, grouped automatically.
  auto first = pour(u.id, b.id, "2026-11-10T23:00:00Z");
  // 23:30 local, placed in that session by choice.
  engine::NewPour chosen;
  chosen.user_id = u.id;
  chosen.bottle_id = b.id;
  chosen.amount_oz = 1;
  chosen.poured_at = engine::Instant{at("2026-11-11T04:30:00Z"), {}};
  chosen.session_id = first.session.id;
  EXPECT_EQ(engine().create_pour(chosen).session.id, first.session.id);
  // 22:30 local is 4.5 h after the only automatic pour: a session of its
  // own, although it is within 4 h of the chosen one.
  auto late = pour(u.id, b.id, "2026-11-11T03:30:00Z");
  EXPECT_NE(late.session.id, first.session.id);
  for (const auto& v : engine().check())
    ADD_FAILURE() << v.reason;
}

TEST_P(EngineTest, SessionNameFollowsItsFirstPour)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  auto a = pour(u.id, b.id, "2026-10-01T10:00:00Z");
  EXPECT_EQ(a.session.name, "Session 2026-10-01 10:00");
  pour(u.id, b.id, "2026-10-01T16:00:00Z");
  pour(u.id, b.id, "2026-10-01T13:00:00Z");
  auto early = pour(u.id, b.id, "2026-10-01T07:00:00Z");
  EXPECT_EQ(early.session.id, a.session.id);
  EXPECT_EQ(early.session.name, "Session 2026-10-01 07:00");
  EXPECT_EQ(engine().session(a.session.id).session.name,
            "Session 2026-10-01 07:00");
}

TEST_P(EngineTest, InjectedFailureAfterSessionCreationLeavesNoTrace)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  for (const char* point : {"session_created", "pour_inserted"}) {
    engine().set_fault_injector([&](const char* at_point) {
      if (std::string(at_point) == point)
        throw std::runtime_error(std::string("injected at ") + point);
    });
    EXPECT_THROW(pour(u.id, b.id, "2026-12-03T10:00:00Z"), std::runtime_error)
        << point;
    EXPECT_EQ(pours_total(), 0) << point;
    EXPECT_EQ(sessions_total(), 0) << point;
  }
  engine().set_fault_injector({});
  pour(u.id, b.id, "2026-12-03T10:00:00Z");
  EXPECT_EQ(pours_total(), 1);
  EXPECT_EQ(sessions_total(), 1);
}

TEST_P(EngineTest, InjectedFailureInAnExistingSessionKeepsItsStatistics)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  auto first = pour(u.id, b.id, "2026-12-03T10:00:00Z");
  engine().set_fault_injector([](const char* point) {
    if (std::string(point) == "pour_inserted")
      throw std::runtime_error("injected");
  });
  EXPECT_THROW(pour(u.id, b.id, "2026-12-03T11:00:00Z"), std::runtime_error);
  engine().set_fault_injector({});
  auto view = engine().session(first.session.id);
  EXPECT_EQ(view.session.pour_count, 1);
  EXPECT_EQ(view.pours.size(), 1u);
  EXPECT_TRUE(engine().check().empty());
}

TEST_P(EngineTest, ExplicitSessionMustExistBelongToTheUserAndTheDay)
{
  auto u = add_user();
  auto other = add_user();
  auto b = add_bottle(u.id);
  auto ob = add_bottle(other.id);
  auto theirs = pour(other.id, ob.id, "2026-12-03T10:00:00Z");
  auto mine = pour(u.id, b.id, "2026-12-02T10:00:00Z");
  const auto before = pours_total();

  engine::NewPour p;
  p.user_id = u.id;
  p.bottle_id = b.id;
  p.amount_oz = 1;
  p.poured_at = engine::Instant{at("2026-12-03T10:30:00Z"), std::nullopt};

  p.session_id = theirs.session.id;
  EXPECT_EQ(fields_of([&] { engine().create_pour(p); }),
            std::vector<std::string>{"session_id"});
  p.session_id = 999999;
  EXPECT_EQ(fields_of([&] { engine().create_pour(p); }),
            std::vector<std::string>{"session_id"});
  p.session_id = mine.session.id; // yesterday's
  EXPECT_EQ(fields_of([&] { engine().create_pour(p); }),
            std::vector<std::string>{"session_id"});
  EXPECT_EQ(pours_total(), before);

  // The gap rule does not apply to a chosen session on the same day.
  p.poured_at = engine::Instant{at("2026-12-02T20:00:00Z"), std::nullopt};
  auto r = engine().create_pour(p);
  EXPECT_EQ(r.session.id, mine.session.id);
  EXPECT_FALSE(r.pour.auto_grouped);
  EXPECT_EQ(r.session.pour_count, 2);
}

TEST_P(EngineTest, IdempotencyKeyReplaysTheFirstPour)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  engine::NewPour p;
  p.user_id = u.id;
  p.bottle_id = b.id;
  p.amount_oz = 2;
  p.poured_at = engine::Instant{at("2026-12-03T10:00:00Z"), std::nullopt};
  auto first = engine().create_pour(p, "key-1");
  auto again = engine().create_pour(p, "key-1");
  EXPECT_FALSE(first.replayed);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.pour.id, first.pour.id);
  EXPECT_EQ(again.session.id, first.session.id);
  EXPECT_EQ(pours_total(), 1);

  p.amount_oz = 3;
  EXPECT_THROW(engine().create_pour(p, "key-1"), Conflict);
  EXPECT_EQ(pours_total(), 1);
}

TEST_P(EngineTest, IdempotencyKeysBelongToOneUserAndIgnoreTagOrder)
{
  auto u = add_user();
  auto v = add_user();
  auto ub = add_bottle(u.id);
  auto vb = add_bottle(v.id);
  engine::NewPour p;
  p.user_id = u.id;
  p.bottle_id = ub.id;
  p.amount_oz = 1;
  p.poured_at = engine::Instant{at("2026-12-03T10:00:00Z"), std::nullopt};
  p.tags = {"b", "A"};
  const auto render = [](const engine::PourResult& r) {
    return "pour " + std::to_string(r.pour.id) + " in a session of " +
           std::to_string(r.session.pour_count);
  };
  auto first = engine().create_pour(p, "shared", render);
  EXPECT_EQ(first.body,
            "pour " + std::to_string(first.pour.id) + " in a session of 1");

  // Another pour joins the session; the replay still answers as first.
  pour(u.id, ub.id, "2026-12-03T10:30:00Z");
  p.tags = {"a", "B"};
  auto again = engine().create_pour(p, "shared", render);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.body, first.body);

  // The same key is free for another user.
  p.user_id = v.id;
  p.bottle_id = vb.id;
  auto theirs = engine().create_pour(p, "shared", render);
  EXPECT_FALSE(theirs.replayed);
  EXPECT_NE(theirs.pour.id, first.pour.id);
}

TEST_P(EngineTest, CurrentSessionIsReusedWithinTheWindow)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  auto c = engine().current_session(u.id, std::nullopt, {"Peaty"});
  EXPECT_TRUE(c.created);
  EXPECT_EQ(c.session.origin, static_cast<int>(orm::Origin::current));

  now_ms_ += 90 * engine::k_minute_ms;
  auto again = engine().current_session(u.id, "bar", {"smoky"});
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.session.id, c.session.id);
  EXPECT_EQ(again.session.location, "Bar");
  EXPECT_EQ(again.session.tags, "peaty\nsmoky");

  // An automatically grouped pour joins the empty session.
  auto r = pour(u.id, b.id, engine::utc_text(now_ms_));
  EXPECT_EQ(r.session.id, c.session.id);

  now_ms_ += 3 * engine::k_hour_ms; // past the 2 h window
  auto fresh = engine().current_session(u.id, std::nullopt, {});
  EXPECT_TRUE(fresh.created);
  EXPECT_NE(fresh.session.id, c.session.id);
}

TEST_P(EngineTest, InvalidPoursNameEveryBadFieldAndWriteNothing)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  engine::NewPour p;
  p.user_id = u.id;
  p.bottle_id = b.id;
  p.amount_oz = 0.05;
  p.rating = 5.55;
  p.notes = std::string(1001, 'x');
  p.location = "Pub";
  p.tags = {"ok", ""};
  EXPECT_EQ(fields_of([&] { engine().create_pour(p); }),
            (std::vector<std::string>{"amount_oz", "rating", "notes",
                                      "location", "tags[1]"}));
  p = {};
  p.user_id = u.id;
  p.bottle_id = b.id + 1000;
  p.amount_oz = 10.01;
  EXPECT_EQ(fields_of([&] { engine().create_pour(p); }),
            std::vector<std::string>{"amount_oz"});
  p.amount_oz = 10;
  EXPECT_EQ(fields_of([&] { engine().create_pour(p); }),
            std::vector<std::string>{"bottle_id"});
  for (const char* when : {"0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                           "9999-12-31T23:59:59Z"}) {
    p.poured_at = engine::Instant{at(when), std::nullopt};
    EXPECT_EQ(fields_of([&] { engine().create_pour(p); }),
              std::vector<std::string>{"poured_at"})
        << when;
  }
  p.poured_at.reset();
  p.user_id = u.id + 1000;
  EXPECT_THROW(engine().create_pour(p), NotFound);
  EXPECT_EQ(pours_total(), 0);
  EXPECT_EQ(sessions_total(), 0);
}

TEST_P(EngineTest, UsersAreUniqueByEmailWhateverTheCase)
{
  engine().create_user({"Ada@Example.com", "Ada", "Europe/London"});
  EXPECT_THROW(engine().create_user({"ada@example.COM", "", std::nullopt}),
               Conflict);
  EXPECT_EQ(engine().user_by_email("ADA@example.com").name, "Ada");
  EXPECT_EQ(fields_of([&] {
              engine().create_user({"nobody", "", "Not/A_Zone"});
            }),
            (std::vector<std::string>{"email", "time_zone"}));
}

TEST_P(EngineTest, OrphansAreFoundAndRecoveredByTheSameRules)
{
  auto u = add_user();
  auto b = add_bottle(u.id);
  auto kept = pour(u.id, b.id, "2026-12-03T10:00:00Z");
  // Orphans written behind the engine's back: one fits the session, two
  // form a new one, one bridges nothing.
  store_->transact([&](orm::Tx& tx) {
    for (const char* t : {"2026-12-03T12:00:00Z", "2026-12-03T19:00:00Z",
                          "2026-12-03T20:00:00Z", "2026-12-04T03:00:00Z"}) {
      orm::Pour p;
      p.user_id = u.id;
      p.bottle_id = b.id;
      p.poured_at_ms = at(t);
      p.local_day = engine::local_day(p.poured_at_ms, 0, 0);
      p.amount_coz = 100;
      tx.insert(p);
    }
  });
  EXPECT_EQ(engine().orphans().count, 4);
  EXPECT_FALSE(engine().check(u.id).empty());

  engine::RecoveryOptions dry;
  auto plan = engine().recover(dry);
  EXPECT_EQ(plan.found, 4);
  EXPECT_EQ(plan.sessions_reused, 1);
  EXPECT_EQ(plan.sessions_created, 2);
  EXPECT_EQ(engine().orphans().count, 4); // a dry run writes nothing

  engine::RecoveryOptions run;
  run.execute = true;
  run.batch = 2;
  auto done = engine().recover(run);
  EXPECT_EQ(done.fixed, 4);
  EXPECT_EQ(done.remaining, 0);
  EXPECT_EQ(done.sessions_created, 2);
  // The 20:00 orphan joins a session the first batch created: the run
  // still counts one reused session, as the dry run did.
  EXPECT_EQ(done.sessions_reused, plan.sessions_reused);
  EXPECT_EQ(done.batches, 2);
  EXPECT_EQ(engine().orphans().count, 0);
  EXPECT_TRUE(engine().check().empty());
  EXPECT_EQ(engine().session(kept.session.id).session.pour_count, 2);
  auto all = engine().sessions(u.id, {}, {});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].name, "Session 2026-12-03 19:00 (Recovered)");
  EXPECT_EQ(all[1].origin, static_cast<int>(orm::Origin::recovered));
}

TEST_P(EngineTest, SchemaIsCurrentAndMigrateIsIdempotent)
{
  EXPECT_EQ(store_->schema_version(), orm::Store::model_version());
  EXPECT_NO_THROW(store_->check_schema());
  EXPECT_NO_THROW(store_->migrate());
}

TEST_P(EngineTest, MigratesFromVersionOne)
{
  // Version 1 is version 3 without the pour's write token (added in 2)
  // and the user's lock token (added in 3). The database is
  // made and migrated by stores of their own, as an old pourd and a new
  // one would: ODB drops its statement caches when it migrates, under
  // queries a running store keeps prepared.
  const std::string url = fresh_database_url(GetParam());
  std::int64_t session_id = 0;
  {
    auto old = orm::Store::open(config::parse_database_url(url));
    old->migrate();
    engine::Engine e(*old, {});
    const auto u = e.create_user({"old@example.com", "", "UTC"});
    const auto b = e.create_bottle({u.id, "Rye", std::nullopt, std::nullopt});
    engine::NewPour p;
    p.user_id = u.id;
    p.bottle_id = b.id;
    p.amount_oz = 1;
    p.poured_at = engine::Instant{at("2026-12-03T20:00:00Z"), std::nullopt};
    session_id = e.create_pour(p).session.id;
    old->transact([](orm::Tx& tx) {
      tx.execute("ALTER TABLE pourd_pour DROP COLUMN write_token");
      tx.execute("ALTER TABLE pourd_user DROP COLUMN lock_token");
      tx.execute("UPDATE schema_version SET version = 1");
    });
  }
  auto store = orm::Store::open(config::parse_database_url(url));
  ASSERT_EQ(store->schema_version(), 1);
  EXPECT_THROW(store->check_schema(), orm::DatabaseError);
  store->migrate();
  EXPECT_EQ(store->schema_version(), orm::Store::model_version());
  EXPECT_NO_THROW(store->check_schema());

  engine::Engine e(*store, {});
  const auto kept = e.session(session_id);
  ASSERT_EQ(kept.pours.size(), 1u);
  EXPECT_TRUE(kept.pours[0].write_token.null());
  engine::NewPour p;
  p.user_id = kept.session.user_id;
  p.bottle_id = kept.pours[0].bottle_id;
  p.amount_oz = 1;
  p.poured_at = engine::Instant{at("2026-12-03T21:00:00Z"), std::nullopt};
  const auto after = e.create_pour(p);
  EXPECT_EQ(after.session.id, session_id);
  EXPECT_FALSE(after.pour.write_token.null());
  EXPECT_TRUE(e.check().empty());
}

TEST_P(EngineTest, NewerSchemaIsRefused)
{
  store_->transact([](orm::Tx& tx) {
    tx.execute("UPDATE schema_version SET version = version + 1");
  });
  try {
    store_->check_schema();
    FAIL() << "a newer schema was accepted";
  } catch (const orm::DatabaseError& e) {
    EXPECT_EQ(e.kind(), orm::DatabaseError::Kind::schema);
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos);
  }
  EXPECT_THROW(store_->migrate(), orm::DatabaseError);
}

INSTANTIATE_TEST_SUITE_P(Backends, EngineTest, ::testing::ValuesIn(backends()),
                         backend_name);

} // namespace
} // namespace pourd::test
