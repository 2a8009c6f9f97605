// Databases for tests: SQLite always, MariaDB when the test run has one.
#pragma once

#include "orm/store.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace pourd::test {

// "sqlite", and "mysql" when POURD_TEST_MYSQL_URL is set (see
// scripts/with-mariadb.sh). With POURD_TEST_REQUIRE_MYSQL=1 a missing URL
// is an error rather than a reason to test SQLite alone.
std::vector<std::string> backends();

// The URL of a new, empty database on `backend`: a file in a fresh
// temporary directory, or a newly created MySQL database.
std::string fresh_database_url(const std::string& backend);

// A store on a fresh database with the current schema.
std::unique_ptr<orm::Store> fresh_store(const std::string& backend);

// Names parameterized tests after their backend ("EngineTest.X/sqlite").
inline std::string
backend_name(const ::testing::TestParamInfo<std::string>& info)
{
  return info.param;
}

// Directory of the real drink logs (../shared/data beside the checkout,
// or POURD_SHARED_DATA).
std::string shared_data_dir();

// Paths of the .csv logs in shared_data_dir(), sorted; empty when the
// directory is missing (a test of its own then fails and names it).
std::vector<std::string> shared_logs();

} // namespace pourd::test
