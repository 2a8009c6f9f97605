// Arbitrary bytes as a pours JSON file for `pourctl import --format
// pours-json` (engine/import.cpp): every row it accepts must be a pour
// pourd could store, and every refusal must say why.
#include "engine/import.hpp"

#include <cstdint>
#include <string_view>

#include "fuzz/import_checks.hpp"

using namespace pourd;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  engine::ImportOptions options;
  options.format = engine::ImportFormat::pours_json;
  // Rows may name their user; some inputs get a default, as --user gives.
  if (size % 2 == 0)
    options.user_email = "ada@example.com";
  if (size % 3 == 0)
    options.rating_scale = 5;
  fuzz::parse_and_check(text, options);
  return 0;
}
