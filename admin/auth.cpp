#include "admin/auth.hpp"

#include <cctype>

namespace pourd::admin {

std::optional<std::string_view>
bearer_token(std::string_view header)
{
  constexpr std::string_view scheme = "bearer";
  if (header.size() <= scheme.size() + 1)
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i])
      return std::nullopt;
  if (header[scheme.size()] != ' ')
    return std::nullopt;
  std::string_view token = header.substr(scheme.size() + 1);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
    token.remove_suffix(1);
  if (token.empty())
    return std::nullopt;
  return token;
}

bool
constant_time_equal(std::string_view a, std::string_view b)
{
  // Walk the longer input fully; the length difference is folded in.
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  // Keep the compiler from turning the loop into an early exit.
  volatile unsigned sink = diff;
  return sink == 0;
}

bool
bearer_matches(const std::string* header, const std::string& secret)
{
  if (header == nullptr || secret.empty())
    return false;
  const auto token = bearer_token(*header);
  if (!token)
    return false;
  return constant_time_equal(*token, secret);
}

} // namespace pourd::admin
