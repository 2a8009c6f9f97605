#include "tests/engine/engine_fixture.hpp"

namespace pourd::test {

void
EngineTest::SetUp()
{
  store_ = fresh_store(GetParam());
  now_ms_ = at("2026-12-03T21:15:00Z");
}

engine::Engine&
EngineTest::engine(engine::Settings settings)
{
  if (!engine_)
    engine_ = std::make_unique<engine::Engine>(*store_, std::move(settings),
                                               [this] { return now_ms_; });
  return *engine_;
}

std::int64_t
EngineTest::at(const std::string& rfc3339)
{
  auto t = engine::parse_time(rfc3339);
  if (!t)
    throw std::invalid_argument("bad time in test: " + rfc3339);
  return t->utc_ms;
}

orm::User
EngineTest::add_user(const std::string& zone)
{
  return engine().create_user(
      {"user" + std::to_string(++users_) + "@example.com", "", zone});
}

orm::Bottle
EngineTest::add_bottle(std::int64_t user_id, std::optional<double> price)
{
  return engine().create_bottle({user_id, "Rye", price, std::nullopt});
}

engine::PourResult
EngineTest::pour(std::int64_t user_id, std::int64_t bottle_id,
                 const std::string& when, double amount,
                 std::optional<double> rating)
{
  const auto t = engine::parse_time(when);
  if (!t)
    throw std::invalid_argument("bad time in test: " + when);
  engine::NewPour p;
  p.user_id = user_id;
  p.bottle_id = bottle_id;
  p.amount_oz = amount;
  p.poured_at = engine::Instant{t->utc_ms, t->offset_min};
  p.rating = rating;
  return engine().create_pour(p);
}

std::int64_t
EngineTest::pours_total()
{
  std::int64_t n = 0;
  store_->transact([&](orm::Tx& tx) {
    n = 0;
    for (const auto& u : tx.users())
      n += static_cast<std::int64_t>(tx.pours_of_user(u.id).size());
  });
  return n;
}

std::int64_t
EngineTest::sessions_total()
{
  std::int64_t n = 0;
  store_->transact([&](orm::Tx& tx) {
    n = 0;
    for (const auto& u : tx.users())
      n += static_cast<std::int64_t>(tx.all_sessions(u.id).size());
  });
  return n;
}

} // namespace pourd::test
