// The admin token when none is configured: generated once into the state
// directory, so a first run needs no setup and restarts keep the token.
#pragma once

#include <string>

namespace pourd::daemon {

struct TokenFile
{
  std::string token;
  std::string path;
  bool created = false;
};

// Reads `<state_dir>/admin-token`, or creates it with mode 0600 holding
// 32 random bytes in hex. Throws std::runtime_error when it can do neither.
TokenFile load_or_create_admin_token(const std::string& state_dir);

} // namespace pourd::daemon
