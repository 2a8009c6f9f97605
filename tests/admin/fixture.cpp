#include "tests/admin/fixture.hpp"

#include "config/database_url.hpp"
#include "tests/support/databases.hpp"

#include <gtest/gtest.h>

namespace pourd::test {

std::unique_ptr<orm::Store>
Running::open_store() const
{
  return orm::Store::open(config::parse_database_url(database_url));
}

Running
start(const std::string& backend, DaemonOptions options)
{
  Running r;
  r.backend = backend;
  r.database_url = fresh_database_url(backend);
  options.database_url = r.database_url;
  r.daemon = std::make_unique<Daemon>(std::move(options));
  if (r.daemon->started())
    r.api = std::make_unique<Api>(r.daemon->port(), r.daemon->admin_token());
  else
    ADD_FAILURE() << "pourd did not start on " << backend << ":\n"
                  << r.daemon->log();
  return r;
}

std::int64_t
make_user(const Api& api, const std::string& email, const std::string& zone)
{
  boost::json::object body;
  body["email"] = email;
  body["time_zone"] = zone;
  const HttpResult r = api.post("/api/users", body);
  EXPECT_EQ(r.status, 201) << r.body;
  const auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("user"))
    return 0;
  return v.at("user").at("id").as_int64();
}

std::int64_t
make_bottle(const Api& api, std::int64_t user_id, double price)
{
  boost::json::object body;
  body["user_id"] = user_id;
  body["name"] = "Bottle " + std::to_string(user_id);
  body["price"] = price;
  const HttpResult r = api.post("/api/bottles", body);
  EXPECT_EQ(r.status, 201) << r.body;
  const auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("bottle"))
    return 0;
  return v.at("bottle").at("id").as_int64();
}

boost::json::object
pour_body(std::int64_t user, std::int64_t bottle, const std::string& when,
          double amount)
{
  boost::json::object body;
  body["user_id"] = user;
  body["bottle_id"] = bottle;
  body["amount_oz"] = amount;
  if (!when.empty())
    body["poured_at"] = when;
  return body;
}

Counts
count_rows(orm::Store& store)
{
  Counts c;
  store.transact([&](orm::Tx& tx) {
    c = Counts{};
    const auto users = tx.users();
    c.users = users.size();
    for (const auto& u : users) {
      c.sessions += tx.all_sessions(u.id).size();
      c.pours += tx.pours_of_user(u.id).size();
    }
    // Bottle ids are dense from 1 in a fresh database.
    while (!tx.find_bottle(static_cast<std::int64_t>(c.bottles) + 1).null())
      ++c.bottles;
    c.orphans = static_cast<std::size_t>(tx.count_orphans());
  });
  return c;
}

std::string
to_string(const Counts& c)
{
  return "users=" + std::to_string(c.users) +
         " bottles=" + std::to_string(c.bottles) +
         " sessions=" + std::to_string(c.sessions) +
         " pours=" + std::to_string(c.pours) +
         " orphans=" + std::to_string(c.orphans);
}

} // namespace pourd::test
