// Notifications: a JSON POST to serve.webhook on a job failure, and on the first success
// after a failure ("recovery"). Delivery is retried a few times with backoff; a webhook
// that stays down is logged, never fatal. The URL is never logged as is (webhook URLs
// carry their token in the path): messages show scheme://host/***.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "serve/run_record.h"

namespace pgk::serve {

// {"event": "failure"|"recovery", "job", "command", "error", "time", "host", "exit_code",
//  "backup_id", "consecutive_failures", "text"}; `text` is one readable line (chat tools
// show it as the message).
nlohmann::json WebhookPayload(const std::string& event, const RunRecord& run);

// "https://hooks.example/T0/B1/xyz" -> "https://hooks.example/***".
std::string MaskWebhookUrl(const std::string& url);

struct WebhookOptions {
  int attempts = 4;
  double first_backoff_s = 0.5;  // doubles after each failed attempt
  long timeout_s = 10;
};

// POSTs `payload`; OK on a 2xx answer. `sleep` is injectable for tests.
Status PostWebhook(const std::string& url, const nlohmann::json& payload, const WebhookOptions& options = {},
                   const std::function<void(double)>& sleep = {});

}  // namespace pgk::serve
