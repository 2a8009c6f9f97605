#include "daemon/lease.hpp"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>

namespace pourd::daemon {

Lease::Lease(orm::Store& store, std::string name, std::string holder,
             std::chrono::milliseconds ttl, Clock clock)
    : store_(store), name_(std::move(name)), holder_(std::move(holder)),
      ttl_(ttl), clock_(std::move(clock))
{
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
}

bool
Lease::acquire(std::string* other)
{
  bool held = false;
  taken_over_.clear();
  try {
    store_.transact([&](orm::Tx& tx) {
      const std::int64_t now = clock_();
      auto row = tx.find_lease(name_);
      if (row.null()) {
        orm::Lease lease;
        lease.name = name_;
        lease.holder = holder_;
        lease.expires_at_ms = now + ttl_.count();
        tx.insert(lease);
        held = true;
        return;
      }
      const std::string gone =
          holder_gone(row->holder) ? row->holder : std::string();
      held = tx.claim_lease(name_, holder_, now, now + ttl_.count(), gone);
      if (!held && other)
        *other = row->holder;
      taken_over_ = held ? gone : std::string();
    });
  } catch (const orm::DatabaseError& e) {
    // Another instance inserted the row first: it holds the lease.
    if (e.kind() != orm::DatabaseError::Kind::duplicate)
      throw;
    if (other)
      *other = "another instance";
    return false;
  }
  return held;
}

bool
Lease::renew()
{
  bool held = false;
  store_.transact([&](orm::Tx& tx) {
    const std::int64_t now = clock_();
    held = tx.claim_lease(name_, holder_, now, now + ttl_.count());
  });
  return held;
}

void
Lease::release() noexcept
{
  try {
    store_.transact([&](orm::Tx& tx) {
      auto row = tx.find_lease(name_);
      if (row.null() || row->holder != holder_)
        return;
      orm::Lease lease = *row;
      lease.expires_at_ms = clock_();
      tx.update(lease);
    });
  } catch (...) {
  }
}

bool
holder_gone(const std::string& holder)
{
  // "host:pid" of this host, whose process no longer exists. A pid that
  // was reused since only makes the lease wait for its expiry.
  const std::string mine = this_holder();
  const auto colon = holder.rfind(':');
  if (colon == std::string::npos ||
      holder.compare(0, colon, mine, 0, mine.rfind(':')) != 0 ||
      colon != mine.rfind(':') || holder == mine)
    return false;
  const std::string digits = holder.substr(colon + 1);
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const pid_t pid = static_cast<pid_t>(std::stol(digits));
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

std::string
this_holder()
{
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0)
    host[0] = '\0';
  // Leases take plain characters only.
  std::string name = host[0] ? host : "localhost";
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
      c = '-';
  return name + ":" + std::to_string(::getpid());
}

} // namespace pourd::daemon
