// Confirmation for destructive actions: --yes confirms; otherwise, on a terminal, the
// user must type `yes`; without a terminal (CI, cron, pipes) the action is refused.
#pragma once

#include <string>

#include "cli/context.h"

namespace pgk::cli {

// OK when confirmed; a Refused error (exit 2) naming --yes otherwise.
Status Confirm(const Context& ctx, const std::string& action);

}  // namespace pgk::cli
