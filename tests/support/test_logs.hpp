// Logs the test suite keeps, and the secrets its tests used, so that the
// last test of a run (test_logs_hold_no_secrets) can prove no secret ever
// reached a log. Everything goes under test_log_dir(): logs/ holds copies
// of daemon and pourctl output, secrets/ one file per test process with a
// secret a line.
#pragma once

#include <string>

namespace pourd::test {

// $POURD_TEST_LOG_DIR, else <build>/test-logs.
std::string test_log_dir();

// Notes `secret` (a token, a password, a wrong token sent on purpose) for
// the final check. Empty values are ignored.
void record_secret(const std::string& secret);

// Copies the file at `path` into logs/, named after the running test and
// `label`. A missing file is ignored.
void keep_log(const std::string& path, const std::string& label);

// Appends `text` to a log in logs/ named after the running test and
// `label`.
void append_log(const std::string& label, const std::string& text);

} // namespace pourd::test
