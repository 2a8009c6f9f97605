// test-pour-creation: the safeguard self-test. It proves, against the
// configured database, that the write path keeps every pour in a session,
// and removes everything it made, also when a check fails.
#include "cli/commands.hpp"
#include "cli/output.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <random>

namespace pourd::cli {

namespace {

namespace json = boost::json;

struct CheckResult
{
  std::string name;
  bool passed = false;
  std::string detail;
};

// Thrown inside a transaction to prove it rolls back.
struct InjectedFailure
{
};

std::string
random_tag()
{
  std::random_device device;
  std::mt19937_64 rng(device());
  char buf[24];
  std::snprintf(buf, sizeof buf, "%012llx",
                static_cast<unsigned long long>(rng() & 0xffffffffffffull));
  return buf;
}

struct Counts
{
  std::size_t pours = 0;
  std::size_t sessions = 0;
  bool operator==(const Counts&) const = default;
};

Counts
counts(orm::Store& store, std::int64_t user_id)
{
  Counts c;
  store.transact([&](orm::Tx& tx) {
    c.pours = tx.pours_of_user(user_id).size();
    c.sessions =
        tx.live_sessions(user_id, std::numeric_limits<std::int32_t>::min(),
                         std::numeric_limits<std::int32_t>::max())
            .size();
  });
  return c;
}

std::string
counts_text(const Counts& c)
{
  return std::to_string(c.pours) + " pours, " + std::to_string(c.sessions) +
         " sessions";
}

class SelfTest
{
public:
  SelfTest(engine::Engine& engine, orm::Store& store)
      : engine_(engine), store_(store), tag_(random_tag())
  {}

  std::vector<CheckResult> run()
  {
    std::vector<CheckResult> results;
    auto check = [&](const std::string& name, auto&& body) {
      CheckResult r{name, false, {}};
      try {
        r.detail = body();
        r.passed = r.detail.empty();
      } catch (const std::exception& e) {
        r.detail = std::string("error: ") + e.what();
      }
      results.push_back(std::move(r));
    };

    check("setup: throwaway users and bottles", [&] { return set_up(); });
    if (!results.back().passed)
      return results;
    check("(a) a pour with no session gets one",
          [&] { return pour_gets_session(); });
    check("(b) a failed transaction leaves nothing behind",
          [&] { return rollback_leaves_nothing(); });
    check("(c) another user's session is refused",
          [&] { return foreign_session_refused(); });
    check("(d) an orphan is detected and recovered",
          [&] { return orphan_recovered(); });
    return results;
  }

  // Removes every user made, with all that belongs to them; returns what
  // went wrong, empty when all is gone.
  std::string clean_up()
  {
    std::string problems;
    for (std::int64_t id : users_) {
      try {
        store_.transact([&](orm::Tx& tx) { tx.erase_user_data(id); });
      } catch (const std::exception& e) {
        problems += "user " + std::to_string(id) + ": " + e.what() + "; ";
      }
    }
    return problems;
  }

  const std::string& email() const { return email_; }

private:
  std::string set_up()
  {
    email_ = "selftest-" + tag_ + "@pourd.invalid";
    other_email_ = "selftest-" + tag_ + "-other@pourd.invalid";
    const orm::User a =
        engine_.create_user({email_, "pourctl self-test", std::string("UTC")});
    users_.push_back(a.id);
    user_ = a.id;
    const orm::User b = engine_.create_user(
        {other_email_, "pourctl self-test (other)", std::string("UTC")});
    users_.push_back(b.id);
    other_user_ = b.id;
    bottle_ = engine_.create_bottle({user_, "self-test bottle", 30.0, 750}).id;
    other_bottle_ =
        engine_.create_bottle({other_user_, "self-test bottle", {}, {}}).id;
    return {};
  }

  engine::NewPour pour_input(std::int64_t user, std::int64_t bottle,
                             std::int64_t at_ms)
  {
    engine::NewPour p;
    p.user_id = user;
    p.bottle_id = bottle;
    p.amount_oz = 1.5;
    p.poured_at = engine::Instant{at_ms, std::nullopt};
    p.rating = 7.5;
    return p;
  }

  std::string pour_gets_session()
  {
    const auto r =
        engine_.create_pour(pour_input(user_, bottle_, now_ms() - 60'000));
    if (r.pour.session_id.null())
      return "the pour was stored without a session";
    if (*r.pour.session_id != r.session.id || r.session.id == 0)
      return "the pour names session " + std::to_string(*r.pour.session_id) +
             " but session " + std::to_string(r.session.id) + " was returned";
    const engine::SessionView view = engine_.session(r.session.id);
    bool found = false;
    for (const orm::Pour& p : view.pours)
      found = found || p.id == r.pour.id;
    if (!found)
      return "session " + std::to_string(r.session.id) +
             " does not list the pour";
    if (view.session.pour_count != static_cast<std::int64_t>(view.pours.size()))
      return "session statistics count " +
             std::to_string(view.session.pour_count) + " pours, it has " +
             std::to_string(view.pours.size());
    return {};
  }

  // The real pour path, failing on purpose after it created the session
  // and after it inserted the pour: either way nothing may remain.
  std::string rollback_leaves_nothing()
  {
    for (const char* point : {"session_created", "pour_inserted"}) {
      const Counts before = counts(store_, user_);
      engine_.set_fault_injector([point](const char* at) {
        if (std::string(at) == point)
          throw InjectedFailure{};
      });
      bool thrown = false;
      try {
        // A day of its own, so the pour needs a new session.
        engine_.create_pour(
            pour_input(user_, bottle_, now_ms() - 3 * engine::k_day_ms));
      } catch (const InjectedFailure&) {
        thrown = true;
      }
      engine_.set_fault_injector({});
      if (!thrown)
        return std::string("no failure was injected at ") + point;
      const Counts after = counts(store_, user_);
      if (!(after == before))
        return std::string("failing at ") + point + ": before " +
               counts_text(before) + "; after: " + counts_text(after);
    }
    return {};
  }

  std::string foreign_session_refused()
  {
    const auto theirs = engine_.create_pour(
        pour_input(other_user_, other_bottle_, now_ms() - 30'000));
    const Counts before = counts(store_, user_);
    auto input = pour_input(user_, bottle_, now_ms() - 20'000);
    input.session_id = theirs.session.id;
    try {
      engine_.create_pour(input);
      return "a pour was accepted into another user's session " +
             std::to_string(theirs.session.id);
    } catch (const engine::ValidationError&) {
    }
    const Counts after = counts(store_, user_);
    if (!(after == before))
      return "the refused pour left a trace: before " + counts_text(before) +
             ", after " + counts_text(after);
    return {};
  }

  std::string orphan_recovered()
  {
    // Written past the engine, as a legacy writer would.
    orm::Pour orphan;
    store_.transact([&](orm::Tx& tx) {
      const std::int64_t at = now_ms() - 10'000;
      orphan = orm::Pour{};
      orphan.user_id = user_;
      orphan.bottle_id = bottle_;
      orphan.poured_at_ms = at;
      orphan.utc_offset_min = 0;
      orphan.local_day =
          engine::local_day(at, 0, engine_.settings().day_boundary_min);
      orphan.amount_coz = 100;
      orphan.created_at_ms = at;
      tx.insert(orphan);
    });

    bool seen = false;
    for (const orm::OrphanGroup& g : engine_.orphans().by_user)
      seen = seen || (g.user_id == user_ && g.count == 1);
    if (!seen)
      return "the orphan was not reported by the orphan count";

    engine::RecoveryOptions options;
    options.user_id = user_;
    options.execute = true;
    const engine::RecoveryReport report = engine_.recover(options);
    if (report.fixed != 1 || report.remaining != 0)
      return "recovery fixed " + std::to_string(report.fixed) + " and left " +
             std::to_string(report.remaining);

    odb::nullable<orm::Pour> after;
    store_.transact([&](orm::Tx& tx) { after = tx.find_pour(orphan.id); });
    if (after.null() || after->session_id.null())
      return "the orphan still has no session after recovery";
    const auto violations = engine_.check(user_);
    if (!violations.empty())
      return "rule violation after recovery: " + violations.front().reason;
    return {};
  }

  engine::Engine& engine_;
  orm::Store& store_;
  std::string tag_;
  std::string email_;
  std::string other_email_;
  std::vector<std::int64_t> users_;
  std::int64_t user_ = 0;
  std::int64_t other_user_ = 0;
  std::int64_t bottle_ = 0;
  std::int64_t other_bottle_ = 0;
};

int
run_self_test(Context& context, bool as_json)
{
  SelfTest test(context.engine(), context.store());
  std::vector<CheckResult> results;
  std::string cleanup_problems;
  try {
    results = test.run();
  } catch (...) {
    cleanup_problems = test.clean_up();
    throw;
  }
  cleanup_problems = test.clean_up();

  bool all = cleanup_problems.empty();
  for (const CheckResult& r : results)
    all = all && r.passed;

  if (as_json) {
    json::array checks;
    for (const CheckResult& r : results)
      checks.push_back(json::object{
          {"name", r.name}, {"passed", r.passed}, {"detail", r.detail}});
    print_json(json::object{{"passed", all},
                            {"checks", std::move(checks)},
                            {"cleaned_up", cleanup_problems.empty()},
                            {"cleanup_problems", cleanup_problems}});
  } else {
    std::cout << "self-test as " << test.email() << "\n";
    for (const CheckResult& r : results) {
      std::cout << (r.passed ? "PASS  " : "FAIL  ") << r.name;
      if (!r.passed)
        std::cout << ": " << r.detail;
      std::cout << '\n';
    }
    if (cleanup_problems.empty())
      std::cout << "cleaned up: the throwaway users and all their data "
                   "are gone\n";
    else
      std::cout << "FAIL  clean up: " << cleanup_problems << '\n';
    std::cout << (all ? "all checks passed\n" : "self-test FAILED\n");
  }
  return all ? k_exit_ok : k_exit_problem;
}

} // namespace

void
add_self_test_command(CLI::App& app, Commands& out)
{
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "test-pour-creation",
      "self-test the pour write path against the configured database, "
      "leaving nothing behind; exit 0 only when every check passed");
  cmd->add_flag("--json", *as_json, "print JSON");
  out.push_back(
      {cmd, [as_json](Context& c) { return run_self_test(c, *as_json); }});
}

} // namespace pourd::cli
