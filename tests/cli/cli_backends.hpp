// The backends pourctl's tests are instantiated for. GoogleTest cases are
// discovered when the tests are built, usually without a MariaDB, so the
// MySQL variants always exist and skip themselves at run time unless the
// run has one (scripts/with-mariadb.sh); POURD_TEST_REQUIRE_MYSQL=1 turns
// the skip into a failure, as it does for backends().
#pragma once

#include "tests/support/databases.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace pourd::test {

inline std::vector<std::string>
cli_backends()
{
  return {"sqlite", "mysql"};
}

inline bool
backend_available(const std::string& backend)
{
  const auto have = backends();
  return std::find(have.begin(), have.end(), backend) != have.end();
}

} // namespace pourd::test

// Skips the current test when `backend` is not in this run.
#define POURD_SKIP_UNLESS_AVAILABLE(backend)                                   \
  do {                                                                         \
    if (!::pourd::test::backend_available(backend))                            \
      GTEST_SKIP() << (backend) << " is not available in this run";            \
  } while (false)
