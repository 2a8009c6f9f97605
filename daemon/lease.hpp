// A named lease row that elects one sweeper among pourd instances sharing
// a database. The holder renews it while working; an expired lease is
// taken over, so a crashed instance blocks others only until expiry, and
// one on this host whose process is gone not at all.
//
// Not thread-safe: one sweep uses one Lease at a time.
#pragma once

#include "orm/store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace pourd::daemon {

class Lease
{
public:
  using Clock = std::function<std::int64_t()>; // now in UTC milliseconds

  Lease(orm::Store& store, std::string name, std::string holder,
        std::chrono::milliseconds ttl, Clock clock = {});

  // True when this holder now holds the lease (fresh, renewed or taken
  // over after expiry); false when another holder's lease is unexpired.
  // `other` then names that holder. Throws orm::DatabaseError.
  bool acquire(std::string* other = nullptr);

  // Extends a held lease; false when it was lost to another holder.
  bool renew();

  // Lets the lease expire now, if this holder still has it. Never throws:
  // an unreleased lease just expires on its own.
  void release() noexcept;

  const std::string& holder() const { return holder_; }

  // After acquire(): the dead holder whose lease it took, or empty.
  const std::string& taken_over() const { return taken_over_; }

private:
  orm::Store& store_;
  std::string name_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
  Clock clock_;
  std::string taken_over_;
};

// "host:pid", naming this process in leases and sweep records.
std::string this_holder();

// True when `holder` names a process of this host that has exited (killed,
// crashed): its lease is taken over at once instead of after expiry.
// Limitation: pourd instances in separate pid namespaces must not share a
// host name, or one could take a live lease of the other (two sweeps then
// run at once, which wastes work but breaks no rule).
bool holder_gone(const std::string& holder);

} // namespace pourd::daemon
