// Arbitrary bytes as a drink log CSV for `pourctl import`: encoding checks,
// the header, RFC 4180 quoting, times, offsets, numbers and ratings
// (engine/import.cpp). A file is refused as a whole with ImportFileError
// or parsed; every row it accepts must be a pour pourd could store.
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
  options.format = engine::ImportFormat::drink_log_csv;
  options.user_email = "ada@example.com";
  // Some inputs use another rating scale, as --rating-scale allows.
  if (size % 5 == 0)
    options.rating_scale = 10;
  fuzz::parse_and_check(text, options);
  return 0;
}
