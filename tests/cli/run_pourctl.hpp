// Runs the real pourctl binary (from $POURD_BIN_DIR, which ctest sets)
// and captures what it printed and how it exited.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace pourd::test {

struct RunResult
{
  int status = -1; // the exit status; -1 when killed or not run
  std::string out;
  std::string err;

  // `out` parsed as JSON; a test failure and null when it is not.
  boost::json::value json() const;
};

// pourctl --config /dev/null --database=`database_url` ARGS..., killed
// after `limit` so a hang fails the test instead of stalling the run.
RunResult run_pourctl(const std::string& database_url,
                      const std::vector<std::string>& args,
                      std::chrono::seconds limit = std::chrono::seconds(90));

// A fresh temporary directory for files a test writes.
std::string temp_dir();

void write_file(const std::string& path, const std::string& content);

} // namespace pourd::test
