// A fresh database per test, on every backend the run has.
#pragma once

#include "engine/engine.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace pourd::test {

class EngineTest : public ::testing::TestWithParam<std::string>
{
protected:
  void SetUp() override;

  // An engine over this test's store; the clock reads `now_ms_`.
  engine::Engine& engine(engine::Settings settings = {});

  // Milliseconds since the epoch of an RFC 3339 time.
  static std::int64_t at(const std::string& rfc3339);

  orm::User add_user(const std::string& zone = "UTC");
  orm::Bottle add_bottle(std::int64_t user_id,
                         std::optional<double> price = std::nullopt);

  // A pour at an RFC 3339 time; its offset, if written, is kept.
  engine::PourResult pour(std::int64_t user_id, std::int64_t bottle_id,
                          const std::string& when, double amount = 1.5,
                          std::optional<double> rating = std::nullopt);

  // Rows in the store, counted through the store's own reads.
  std::int64_t pours_total();
  std::int64_t sessions_total();

  std::unique_ptr<orm::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
  std::int64_t now_ms_ = 0;
  int users_ = 0;
};

} // namespace pourd::test
