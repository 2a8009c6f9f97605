// debug-pour-sessions: one user's sessions and pours in local time, each
// breach of the session rules flagged where it happens.
#include "admin/json.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

namespace pourd::cli {

namespace {

namespace json = boost::json;

struct DebugOptions
{
  std::string email;
  bool json = false;
};

// A pour as the API shows it, plus what an operator debugging it needs.
json::object
pour_view(const orm::Pour& p, const std::string& bottle_name)
{
  json::object o = pourd::json::to_json(p);
  if (!bottle_name.empty())
    o["bottle_name"] = bottle_name;
  o["external_id"] =
      p.external_id.null() ? json::value(nullptr) : json::value(*p.external_id);
  return o;
}

struct UserData
{
  std::vector<orm::Session> sessions;
  std::vector<orm::Pour> pours;
  std::map<std::int64_t, std::string> bottles;
};

UserData
load(orm::Store& store, std::int64_t user_id)
{
  UserData data;
  // One transaction, so sessions and pours are one consistent picture.
  store.transact([&](orm::Tx& tx) {
    // Merged sessions too: a pour left in one is a violation to show.
    data.sessions = tx.all_sessions(user_id);
    data.pours = tx.pours_of_user(user_id);
    data.bottles.clear();
    for (const orm::Pour& p : data.pours)
      if (!data.bottles.count(p.bottle_id)) {
        const auto b = tx.find_bottle(p.bottle_id);
        data.bottles[p.bottle_id] = b.null() ? "" : b->name;
      }
  });
  std::stable_sort(data.sessions.begin(), data.sessions.end(),
                   [](const orm::Session& a, const orm::Session& b) {
                     const auto at = engine::span_of(a).first_ms;
                     const auto bt = engine::span_of(b).first_ms;
                     return at != bt ? at < bt : a.id < b.id;
                   });
  return data;
}

std::string
pour_line(const orm::Pour& p, const std::string& bottle)
{
  std::string line = "  pour " + std::to_string(p.id) + "  " +
                     engine::local_text(p.poured_at_ms, p.utc_offset_min) +
                     "  " + hundredths_text(p.amount_coz) + " oz";
  if (!p.rating_tenths.null())
    line += "  rating " + tenths_text(*p.rating_tenths);
  if (!p.own_offset)
    line += "  (user zone)";
  line += "  " + bottle;
  return line;
}

int
run_debug(Context& context, const DebugOptions& o)
{
  engine::Engine& engine = context.engine();
  const orm::User user = engine.user_by_email(o.email);
  const UserData data = load(context.store(), user.id);
  const std::vector<engine::Violation> violations = engine.check(user.id);

  // Each violation is shown once: at its pour, else at its session, else
  // in the list at the end.
  std::map<std::int64_t, std::vector<std::string>> by_pour, by_session;
  std::vector<engine::Violation> loose;
  std::map<std::int64_t, bool> pour_known, session_known;
  for (const orm::Pour& p : data.pours)
    pour_known[p.id] = true;
  for (const orm::Session& s : data.sessions)
    session_known[s.id] = true;
  for (const engine::Violation& v : violations) {
    if (v.pour_id != 0 && pour_known.count(v.pour_id))
      by_pour[v.pour_id].push_back(v.reason);
    else if (v.pour_id == 0 && session_known.count(v.session_id))
      by_session[v.session_id].push_back(v.reason);
    else
      loose.push_back(v);
  }

  std::map<std::int64_t, std::vector<const orm::Pour*>> pours_of;
  std::vector<const orm::Pour*> orphans;
  // Pours naming a session that does not exist, listed with the orphans.
  std::vector<const orm::Pour*> strays;
  for (const orm::Pour& p : data.pours) {
    if (p.session_id.null())
      orphans.push_back(&p);
    else if (!session_known.count(*p.session_id))
      strays.push_back(&p);
    else
      pours_of[*p.session_id].push_back(&p);
  }

  auto bottle_of = [&](const orm::Pour& p) {
    const auto it = data.bottles.find(p.bottle_id);
    return it == data.bottles.end() ? std::string() : it->second;
  };
  auto reasons_json = [](const std::vector<std::string>& reasons) {
    json::array out;
    for (const std::string& r : reasons)
      out.emplace_back(r);
    return out;
  };
  auto find = [](const auto& map, std::int64_t id) {
    const auto it = map.find(id);
    return it == map.end() ? std::vector<std::string>{} : it->second;
  };

  if (o.json) {
    json::array sessions;
    for (const orm::Session& s : data.sessions) {
      json::object so = pourd::json::to_json(s);
      json::array pours;
      for (const orm::Pour* p : pours_of[s.id]) {
        json::object po = pour_view(*p, bottle_of(*p));
        po["violations"] = reasons_json(find(by_pour, p->id));
        pours.push_back(std::move(po));
      }
      so["pours"] = std::move(pours);
      so["violations"] = reasons_json(find(by_session, s.id));
      sessions.push_back(std::move(so));
    }
    json::array orphan_list;
    for (const orm::Pour* p : orphans) {
      json::object po = pour_view(*p, bottle_of(*p));
      po["violations"] = reasons_json(find(by_pour, p->id));
      orphan_list.push_back(std::move(po));
    }
    json::array stray_list;
    for (const orm::Pour* p : strays) {
      json::object po = pour_view(*p, bottle_of(*p));
      po["violations"] = reasons_json(find(by_pour, p->id));
      stray_list.push_back(std::move(po));
    }
    json::array all;
    for (const engine::Violation& v : violations)
      all.push_back(json::object{{"pour_id", v.pour_id},
                                 {"session_id", v.session_id},
                                 {"reason", v.reason}});
    print_json(
        json::object{{"user", json::object{{"id", user.id},
                                           {"email", user.email},
                                           {"time_zone", user.time_zone}}},
                     {"sessions", std::move(sessions)},
                     {"orphans", std::move(orphan_list)},
                     {"pours_in_missing_sessions", std::move(stray_list)},
                     {"violations", std::move(all)}});
    return violations.empty() ? k_exit_ok : k_exit_problem;
  }

  std::cout << "user " << user.id << " " << user.email << ", time zone "
            << user.time_zone << "; pours shown at their own offset\n";
  for (const orm::Session& s : data.sessions) {
    std::cout << "session " << s.id << "  " << engine::day_text(s.local_day)
              << "  " << s.name << "  [" << pourd::json::origin_text(s.origin);
    if (!s.merged_into.null())
      std::cout << ", merged into " << *s.merged_into;
    std::cout << "]  " << s.pour_count << " pours, "
              << hundredths_text(s.total_amount_coz) << " oz";
    if (const auto avg =
            engine::average_tenths(s.rating_sum_tenths, s.rated_count))
      std::cout << ", average rating " << tenths_text(*avg);
    std::cout << '\n';
    for (const std::string& r : find(by_session, s.id))
      std::cout << "  !! " << r << '\n';
    for (const orm::Pour* p : pours_of[s.id]) {
      std::cout << pour_line(*p, bottle_of(*p)) << '\n';
      for (const std::string& r : find(by_pour, p->id))
        std::cout << "    !! " << r << '\n';
    }
  }
  if (!orphans.empty()) {
    std::cout << "orphans (no session):\n";
    for (const orm::Pour* p : orphans) {
      std::cout << pour_line(*p, bottle_of(*p)) << '\n';
      for (const std::string& r : find(by_pour, p->id))
        std::cout << "    !! " << r << '\n';
    }
  }
  if (!strays.empty()) {
    std::cout << "pours whose session does not exist:\n";
    for (const orm::Pour* p : strays) {
      std::cout << pour_line(*p, bottle_of(*p)) << "  (session "
                << *p->session_id << ")\n";
      for (const std::string& r : find(by_pour, p->id))
        std::cout << "    !! " << r << '\n';
    }
  }
  for (const engine::Violation& v : loose)
    std::cout << "!! "
              << (v.pour_id ? "pour " + std::to_string(v.pour_id)
                            : "session " + std::to_string(v.session_id))
              << ": " << v.reason << '\n';
  std::cout << data.sessions.size() << " sessions, " << data.pours.size()
            << " pours, " << orphans.size() << " orphans, " << violations.size()
            << " violations\n";
  return violations.empty() ? k_exit_ok : k_exit_problem;
}

} // namespace

void
add_debug_command(CLI::App& app, Commands& out)
{
  auto o = std::make_shared<DebugOptions>();
  CLI::App* cmd = app.add_subcommand(
      "debug-pour-sessions",
      "show a user's sessions and pours in local time, flagging every "
      "rule violation; exit 1 when there is one");
  cmd->add_option("EMAIL", o->email, "the user")->required();
  cmd->add_flag("--json", o->json, "print JSON");
  out.push_back({cmd, [o](Context& c) { return run_debug(c, *o); }});
}

} // namespace pourd::cli
