// The `database` setting: sqlite://PATH or
// mysql://USER[:PASS]@HOST[:PORT]/DB[?socket=PATH].
#pragma once

#include "orm/store.hpp"

#include <string>
#include <string_view>

namespace pourd::config {

// Throws std::invalid_argument naming what is wrong with `url`.
orm::ConnectOptions parse_database_url(std::string_view url);

// The URL with any password replaced by "***", fit for logs.
std::string redact_database_url(std::string_view url);

} // namespace pourd::config
