// monitor-orphaned-pours and fix-orphaned-pours: watching for pours
// without a session, and recovering them by the session rules.
#include "cli/commands.hpp"
#include "cli/output.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

namespace pourd::cli {

namespace {

namespace json = boost::json;

int
run_monitor(Context& context, bool as_json)
{
  const engine::OrphanReport report = context.engine().orphans();
  const std::int64_t now = now_ms();

  if (as_json) {
    json::array by_user;
    for (const orm::OrphanGroup& g : report.by_user)
      by_user.push_back(
          json::object{{"user_id", g.user_id},
                       {"email", g.email},
                       {"count", g.count},
                       {"oldest", engine::utc_text(g.oldest_ms)},
                       {"oldest_age_seconds", (now - g.oldest_ms) / 1000}});
    print_json(json::object{{"count", report.count},
                            {"by_user", std::move(by_user)},
                            {"timestamp", engine::utc_text(now)}});
  } else if (report.count == 0) {
    std::cout << "no orphaned pours\n";
  } else {
    std::cout << report.count << " orphaned pours\n";
    std::printf("%-40s %8s  %-24s %s\n", "user", "orphans", "oldest pour",
                "age");
    for (const orm::OrphanGroup& g : report.by_user)
      std::printf("%-40s %8lld  %-24s %s\n", g.email.c_str(),
                  static_cast<long long>(g.count),
                  engine::utc_text(g.oldest_ms).c_str(),
                  age_text(now - g.oldest_ms).c_str());
    std::fflush(stdout);
  }
  return report.count > 0 ? k_exit_problem : k_exit_ok;
}

struct FixOptions
{
  std::string email;
  bool all = false;
  bool execute = false;
  bool json = false;
};

int
run_fix(Context& context, const FixOptions& o)
{
  if (o.email.empty() == !o.all)
    throw UsageError("fix-orphaned-pours: give either EMAIL or --all");

  engine::Engine& engine = context.engine();
  engine::RecoveryOptions options;
  if (!o.all)
    options.user_id = engine.user_by_email(o.email).id;
  options.execute = o.execute;
  options.batch = context.config().sweep_batch;

  Progress progress("fixing orphaned pours");
  if (o.execute)
    options.on_batch = [&](const engine::RecoveryReport& r) {
      progress.update(static_cast<std::size_t>(r.fixed),
                      static_cast<std::size_t>(r.found));
      return true;
    };
  const engine::RecoveryReport r = engine.recover(options);
  progress.finish();

  if (o.json) {
    // A dry run fixes nothing: it reports how many pours it would assign.
    print_json(json::object{{"execute", o.execute},
                            {"found", r.found},
                            {o.execute ? "fixed" : "to_assign", r.fixed},
                            {"remaining", r.remaining},
                            {"sessions_reused", r.sessions_reused},
                            {"sessions_created", r.sessions_created},
                            {"sessions_merged", r.sessions_merged},
                            {"users", r.users},
                            {"batches", r.batches}});
  } else if (!o.execute) {
    std::cout << "dry run: nothing was written\n"
              << "orphaned pours found: " << r.found << '\n'
              << "pours to assign:      " << r.fixed << '\n'
              << "sessions reused:      " << r.sessions_reused << '\n'
              << "sessions to create:   " << r.sessions_created << '\n'
              << "sessions to merge:    " << r.sessions_merged << '\n'
              << "users:                " << r.users << '\n';
    if (r.found > 0)
      std::cout << "run again with --execute to apply this plan\n";
  } else {
    std::cout << "orphaned pours found: " << r.found << '\n'
              << "pours assigned:       " << r.fixed << '\n'
              << "sessions reused:      " << r.sessions_reused << '\n'
              << "sessions created:     " << r.sessions_created << '\n'
              << "sessions merged:      " << r.sessions_merged << '\n'
              << "users:                " << r.users << '\n'
              << "batches committed:    " << r.batches << '\n'
              << "remaining orphans:    " << r.remaining << '\n';
  }
  // A dry run only reports; an executed run failed if orphans remain.
  return o.execute && r.remaining > 0 ? k_exit_problem : k_exit_ok;
}

} // namespace

void
add_orphan_commands(CLI::App& app, Commands& out)
{
  auto monitor_json = std::make_shared<bool>(false);
  CLI::App* monitor = app.add_subcommand(
      "monitor-orphaned-pours",
      "count pours without a session, by user; exit 1 when any exist");
  monitor->add_flag("--json", *monitor_json, "print JSON");
  out.push_back({monitor, [monitor_json](Context& c) {
                   return run_monitor(c, *monitor_json);
                 }});

  auto o = std::make_shared<FixOptions>();
  CLI::App* fix = app.add_subcommand(
      "fix-orphaned-pours",
      "assign orphaned pours to sessions; a dry run unless --execute");
  CLI::Option* email =
      fix->add_option("EMAIL", o->email, "the user whose orphans to fix");
  fix->add_flag("--all", o->all, "fix the orphans of every user")
      ->excludes(email);
  fix->add_flag("--execute", o->execute, "apply the plan (in batches)");
  fix->add_flag("--json", o->json, "print JSON");
  out.push_back({fix, [o](Context& c) { return run_fix(c, *o); }});
}

} // namespace pourd::cli
