#include "cli/context.hpp"

#include <filesystem>
#include <system_error>

namespace pourd::cli {

Context::Context(config::Config config) : config_(std::move(config))
{}

Context::~Context() = default;

orm::Store&
Context::store(bool any_schema)
{
  if (!store_) {
    const orm::ConnectOptions& connect = config_.connect;
    // The default database lives in the state directory, which a first
    // run may not have made yet.
    if (connect.backend == orm::Backend::sqlite && connect.path != ":memory:") {
      const auto dir = std::filesystem::path(connect.path).parent_path();
      std::error_code ec;
      if (!dir.empty())
        std::filesystem::create_directories(dir, ec);
    }
    store_ = orm::Store::open(connect);
  }
  if (!any_schema && !schema_checked_) {
    // The store's message already tells the operator to migrate.
    store_->check_schema();
    schema_checked_ = true;
  }
  return *store_;
}

engine::Engine&
Context::engine()
{
  if (!engine_)
    engine_ = std::make_unique<engine::Engine>(store(), config_.rules);
  return *engine_;
}

} // namespace pourd::cli
