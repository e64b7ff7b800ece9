// Confirmation for destructive actions: --yes confirms; otherwise, on a terminal, the
// user must type `yes` (or, for the most destructive ones, the name of what is destroyed);
// without a terminal (CI, cron, pipes) the action is refused.
#pragma once

#include <string>

#include "cli/context.h"

namespace pgk::cli {

// OK when confirmed; a Refused error (exit 2) naming --yes otherwise.
Status Confirm(const Context& ctx, const std::string& action);

// Like Confirm, but the user must type `expected` (e.g. the database about to be
// replaced), which a reflexive "yes" does not.
Status ConfirmByTyping(const Context& ctx, const std::string& action, const std::string& expected);

}  // namespace pgk::cli
