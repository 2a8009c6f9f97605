// migrate, user add, bottle add: the few writes an operator makes by hand.
#include "cli/commands.hpp"
#include "cli/output.hpp"

#include <iostream>
#include <memory>
#include <optional>

namespace pourd::cli {

namespace {

int
run_migrate(Context& context)
{
  orm::Store& store = context.store(true);
  const std::int64_t from = store.schema_version();
  store.migrate();
  const std::int64_t to = store.schema_version();
  if (from == to)
    std::cout << "schema is current (version " << to << ")\n";
  else
    std::cout << "migrated schema from version " << from << " to " << to
              << "\n";
  return k_exit_ok;
}

struct UserOptions
{
  std::string email;
  std::string name;
  std::string time_zone;
};

int
run_user_add(Context& context, const UserOptions& o)
{
  engine::NewUser input;
  input.email = o.email;
  input.name = o.name;
  if (!o.time_zone.empty())
    input.time_zone = o.time_zone;
  const orm::User user = context.engine().create_user(input);
  std::cout << "created user " << user.id << " " << user.email << " (time zone "
            << user.time_zone << ")\n";
  return k_exit_ok;
}

struct BottleOptions
{
  std::string email;
  std::string name;
  std::optional<double> price;
  std::optional<double> volume_ml;
};

int
run_bottle_add(Context& context, const BottleOptions& o)
{
  engine::Engine& engine = context.engine();
  engine::NewBottle input;
  input.user_id = engine.user_by_email(o.email).id;
  input.name = o.name;
  input.price = o.price;
  input.volume_ml = o.volume_ml;
  const orm::Bottle bottle = engine.create_bottle(input);
  std::cout << "created bottle " << bottle.id << " '" << bottle.name << "' for "
            << o.email << " (" << bottle.volume_ml << " ml";
  if (!bottle.price_minor.null())
    std::cout << ", price " << hundredths_text(*bottle.price_minor);
  std::cout << ")\n";
  return k_exit_ok;
}

} // namespace

void
add_admin_commands(CLI::App& app, Commands& out)
{
  CLI::App* migrate = app.add_subcommand(
      "migrate", "create the database schema, or bring it up to date");
  out.push_back({migrate, run_migrate});

  CLI::App* user = app.add_subcommand("user", "manage users");
  user->require_subcommand(1);
  auto u = std::make_shared<UserOptions>();
  CLI::App* user_add = user->add_subcommand("add", "create a user");
  user_add->add_option("EMAIL", u->email, "the user's email")->required();
  user_add->add_option("--name", u->name, "display name");
  user_add->add_option("--time-zone", u->time_zone,
                       "IANA time zone (default: default_time_zone)");
  out.push_back({user_add, [u](Context& c) { return run_user_add(c, *u); }});

  CLI::App* bottle = app.add_subcommand("bottle", "manage bottles");
  bottle->require_subcommand(1);
  auto b = std::make_shared<BottleOptions>();
  CLI::App* bottle_add = bottle->add_subcommand("add", "create a bottle");
  bottle_add->add_option("EMAIL", b->email, "the owner's email")->required();
  bottle_add->add_option("NAME", b->name, "the bottle's name")->required();
  bottle_add->add_option("--price", b->price, "price in currency units");
  bottle_add->add_option("--volume-ml", b->volume_ml,
                         "volume in millilitres (default 750)");
  out.push_back(
      {bottle_add, [b](Context& c) { return run_bottle_add(c, *b); }});
}

} // namespace pourd::cli
