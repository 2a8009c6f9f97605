// Bearer tokens: parsing the Authorization header and comparing secrets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pourd::admin {

// The token of "Bearer <token>"; the scheme name is case-insensitive
// (RFC 9110), the token is not. nullopt for any other form.
std::optional<std::string_view> bearer_token(std::string_view header);

// Equality whose running time does not depend on where the inputs differ,
// so a caller cannot learn a secret byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b);

// True when `header` carries exactly `secret` as a bearer token. An empty
// `secret` never matches.
bool bearer_matches(const std::string* header, const std::string& secret);

} // namespace pourd::admin
