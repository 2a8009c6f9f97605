// RFC 9457 problem details: every error answer of the admin endpoint.
#pragma once

#include "admin/http_types.hpp"
#include "engine/rules.hpp"

#include <string>
#include <vector>

namespace pourd::admin {

// A request the handler refuses before the engine sees it.
class HttpError : public std::exception
{
public:
  HttpError(unsigned status, std::string detail,
            std::vector<engine::FieldError> errors = {})
      : status_(status), detail_(std::move(detail)), errors_(std::move(errors))
  {}

  unsigned status() const { return status_; }
  const std::string& detail() const { return detail_; }
  const std::vector<engine::FieldError>& errors() const { return errors_; }
  const char* what() const noexcept override { return detail_.c_str(); }

private:
  unsigned status_;
  std::string detail_;
  std::vector<engine::FieldError> errors_;
};

// The standard reason phrase of `status`, used as the problem's title.
std::string status_title(unsigned status);

// An application/problem+json response; `errors` adds the field list.
Response problem(unsigned status, const std::string& detail,
                 const std::vector<engine::FieldError>& errors = {});

} // namespace pourd::admin
