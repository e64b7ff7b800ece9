// One signed HTTP request to S3 at a time per call, over a small pool of libcurl easy
// handles (a handle serves one thread at a time and keeps its connections alive between
// requests). Retries live here so every operation gets the same policy.
//
// Thread safety: Send() may be called from several threads at once.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/s3/s3_config.h"
#include "storage/s3/sigv4.h"

namespace pgk::storage::s3 {

struct S3Request {
  std::string method;     // GET, HEAD, PUT, POST, DELETE
  std::string key;        // full object key (root prefix included); empty: the bucket
  QueryList query;        // raw names and values
  HeaderList headers;     // extra headers (Range, Content-MD5, ...); all are signed
  std::string_view body;  // must outlive Send()
};

struct S3Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased
  bool ok() const { return status >= 200 && status < 300; }
  std::string Header(const std::string& lower_name) const;
};

class S3Client {
 public:
  S3Client(S3Config config, int max_retries);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Config& config() const { return config_; }

  // Sends `request`, retrying with exponential backoff and jitter on 5xx, 429, S3's
  // 400 RequestTimeout, and network errors/timeouts, up to max_retries extra attempts.
  // After a request failed to reach the endpoint with all its retries, later requests
  // make one attempt each until one reaches it again.
  // Any HTTP status comes back as a response (the caller decides what 404 means); an
  // error Status only when the endpoint could not be reached (IO) or on interrupt.
  Result<S3Response> Send(const S3Request& request);

  // The error for a failed (non-2xx) response to `what` ("read", "write", ...) on `key`:
  // 403 -> Refused "access denied", 404 NoSuchBucket -> NotFound with a hint, 404 ->
  // NotFound "file not found", wrong region -> Config, else IO with S3's error code.
  Status ErrorFor(const S3Response& response, const std::string& what, const std::string& key) const;

  // "s3://bucket/key" for messages.
  std::string ObjectUrl(const std::string& key) const;

 private:
  struct Attempt {
    CURLcode curl = CURLE_OK;
    std::string curl_error;
    S3Response response;
  };
  Attempt SendOnce(CURL* handle, const S3Request& request);
  CURL* Acquire();
  void Release(CURL* handle);

  const S3Config config_;
  const int max_retries_;
  std::atomic<bool> unreachable_{false};  // the last request ended in a network error
  std::mutex mu_;
  std::vector<CURL*> idle_;  // REQUIRES: mu_ held
};

}  // namespace pgk::storage::s3
