#include "serve/webhook.h"

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <thread>

#include "common/mask.h"

namespace pgk::serve {

nlohmann::json WebhookPayload(const std::string& event, const RunRecord& run) {
  std::string text =
      event == "failure"
          ? "pgkeeper on " + run.host + ": job " + run.job + " (" + run.command + ") failed: " + run.error
          : "pgkeeper on " + run.host + ": job " + run.job + " (" + run.command + ") succeeded again after " +
                std::to_string(run.consecutive_failures) + " failure(s)";
  return {{"event", event},
          {"job", run.job},
          {"command", run.command},
          {"error", MaskSecrets(run.error)},
          {"time", IsoTime(run.end)},
          {"host", run.host},
          {"exit_code", run.exit_code},
          {"backup_id", run.backup_id},
          {"consecutive_failures", run.consecutive_failures},
          {"text", MaskSecrets(text)}};
}

std::string MaskWebhookUrl(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "***";
  auto host_start = scheme + 3;
  auto path = url.find_first_of("/?#", host_start);
  std::string host = url.substr(host_start, path == std::string::npos ? std::string::npos : path - host_start);
  if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);  // user:password@
  return url.substr(0, host_start) + host + (path == std::string::npos ? "" : "/***");
}

namespace {

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

Status PostOnce(const std::string& url, const std::string& body, long timeout_s) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Status::Internal("cannot initialise libcurl");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "pgkeeper-serve");
  CURLcode rc = curl_easy_perform(curl.get());
  std::string where = MaskWebhookUrl(url);
  if (rc != CURLE_OK) return Status::IO("webhook " + where + ": " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return Status::IO("webhook " + where + " answered HTTP " + std::to_string(status));
  return Status::Ok();
}

}  // namespace

Status PostWebhook(const std::string& url, const nlohmann::json& payload, const WebhookOptions& options,
                   const std::function<void(double)>& sleep) {
  std::string body = payload.dump();
  double backoff = options.first_backoff_s;
  Status last;
  for (int attempt = 1; attempt <= options.attempts; ++attempt) {
    last = PostOnce(url, body, options.timeout_s);
    if (last.ok()) return last;
    if (attempt == options.attempts) break;
    if (sleep) {
      sleep(backoff);
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    }
    backoff *= 2;
  }
  return last.WithHint("check serve.webhook; the notification was given up after " + std::to_string(options.attempts) +
                       " attempts");
}

}  // namespace pgk::serve
