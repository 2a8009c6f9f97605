// Shared steps of the end-to-end tests: a daemon on a fresh database of a
// backend, users and bottles made through the API, rows counted through
// the store.
#pragma once

#include "orm/store.hpp"
#include "tests/admin/daemon_process.hpp"
#include "tests/admin/http_client.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace pourd::test {

struct Running
{
  std::string backend;
  std::string database_url;
  std::unique_ptr<Daemon> daemon;
  std::unique_ptr<Api> api;

  // A second connection to the daemon's database, for checks and for
  // writes behind the daemon's back.
  std::unique_ptr<orm::Store> open_store() const;
};

// Starts pourd on a fresh database of `backend`; `options.database_url`
// is filled in. Check `daemon->started()` before use.
Running start(const std::string& backend, DaemonOptions options = {});

std::int64_t make_user(const Api& api, const std::string& email,
                       const std::string& zone = "UTC");
std::int64_t make_bottle(const Api& api, std::int64_t user_id,
                         double price = 60.0);

boost::json::object pour_body(std::int64_t user, std::int64_t bottle,
                              const std::string& when, double amount = 1.5);

// Rows in the database, read through the store.
struct Counts
{
  std::size_t users = 0;
  std::size_t bottles = 0;
  std::size_t sessions = 0;
  std::size_t pours = 0;
  std::size_t orphans = 0;

  bool operator==(const Counts&) const = default;
};

Counts count_rows(orm::Store& store);

std::string to_string(const Counts& c);

} // namespace pourd::test
