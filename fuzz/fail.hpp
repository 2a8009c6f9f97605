// How a fuzz target reports a broken rule: a message, then abort, so
// libFuzzer keeps the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace pourd::fuzz {

[[noreturn]] inline void
fail(const std::string& what)
{
  std::fprintf(stderr, "fuzz check failed: %s\n", what.c_str());
  std::abort();
}

} // namespace pourd::fuzz
