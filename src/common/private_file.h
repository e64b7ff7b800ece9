// Reading a file that holds secrets (keys, passwords): refused unless it is a regular file
// that neither group nor others can access, checked on the open descriptor, so the file
// read is the file whose mode was checked.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"

namespace pgk {

// `what` names the file in messages ("password file"). NotFound when it does not exist;
// Refused (with a chmod 600 hint) when its mode lets group or others in; InvalidArgument
// when it is not a regular file or is larger than `max_size`.
Result<std::string> ReadPrivateFile(const std::string& path, const std::string& what, size_t max_size);

}  // namespace pgk
