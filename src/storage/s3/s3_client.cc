#include "storage/s3/s3_client.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "common/hash.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/mask.h"
#include "storage/s3/xml.h"

namespace pgk::storage::s3 {

namespace {

constexpr long kConnectTimeoutS = 10;
// A transfer slower than 1 KiB/s for 30 s is treated as a dead connection (and retried):
// a stalled socket must not hang a backup forever, a slow link must not fail it.
constexpr long kLowSpeedLimit = 1024;
constexpr long kLowSpeedTimeS = 30;
constexpr int kBackoffBaseMs = 200;
constexpr int kBackoffCapMs = 10000;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after a redirect or 100-continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  (*headers)[name] = std::string(value);
  return size * n;
}

bool RetryableCurl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;  // e.g. certificate verification failures: retrying cannot help
  }
}

// 5xx includes 503 SlowDown; 429 is throttling elsewhere; S3 answers 400 RequestTimeout
// when the client was too slow sending the body, which is a network condition too.
bool RetryableStatus(const S3Response& r) {
  if (r.status >= 500 || r.status == 429) return true;
  return r.status == 400 && XmlText(r.body, "Code").value_or("") == "RequestTimeout";
}

int BackoffMs(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  int ceiling = kBackoffBaseMs << std::min(attempt, 10);
  ceiling = std::min(ceiling, kBackoffCapMs);
  // "Equal jitter": half fixed, half random, so concurrent writers spread out but none
  // retries immediately.
  return ceiling / 2 + std::uniform_int_distribution<int>(0, ceiling / 2)(rng);
}

}  // namespace

std::string S3Response::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

S3Client::S3Client(S3Config config, int max_retries) : config_(std::move(config)), max_retries_(max_retries) {
  GlobalInit();
}

S3Client::~S3Client() {
  for (CURL* h : idle_) curl_easy_cleanup(h);
}

CURL* S3Client::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::Release(CURL* handle) {
  std::lock_guard lock(mu_);
  idle_.push_back(handle);
}

std::string S3Client::ObjectUrl(const std::string& key) const { return "s3://" + config_.bucket + "/" + key; }

S3Client::Attempt S3Client::SendOnce(CURL* h, const S3Request& req) {
  Attempt at;
  std::string path = config_.path_style ? "/" + UriEncode(config_.bucket, false) : "";
  if (!req.key.empty() || !config_.path_style) path += "/" + UriEncode(req.key, true);
  std::string query = CanonicalQuery(req.query);
  std::string url = config_.scheme + "://" + config_.Authority() + path + (query.empty() ? "" : "?" + query);

  bool has_body = req.method == "PUT" || req.method == "POST";
  SignInput in{req.method, path, req.query, {}, Sha256Hex(req.body)};
  std::string amz_date = AmzDate(std::time(nullptr));
  in.headers = {{"host", config_.Authority()}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", in.payload_hash}};
  if (!config_.credentials.session_token.empty()) {
    in.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  }
  bool has_type = false;
  for (const auto& header : req.headers) {
    in.headers.push_back(header);
    if (strcasecmp(header.first.c_str(), "content-type") == 0) has_type = true;
  }
  // Without it libcurl would label a body application/x-www-form-urlencoded.
  if (has_body && !has_type) in.headers.emplace_back("content-type", "application/octet-stream");
  Signature sig = SignV4(in, config_.credentials, config_.region, "s3", amz_date);

  curl_slist* list = nullptr;
  for (const auto& [k, v] : in.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, ("Authorization: " + sig.authorization).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip

  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedLimit);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kLowSpeedTimeS);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // keys like "a/../b" are names, not paths
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!config_.ca_bundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_bundle.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &at.response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &at.response.headers);
  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (has_body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    }
  }
  at.curl = curl_easy_perform(h);
  if (at.curl == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &at.response.status);
  } else {
    at.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(at.curl);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  return at;
}

Result<S3Response> S3Client::Send(const S3Request& request) {
  CURL* h = Acquire();
  if (!h) return Status::Internal("cannot create a libcurl handle");
  // Once a request has used up its retries without reaching the endpoint, the requests
  // that follow (aborting uploads, removing a failed backup's files, releasing a lock)
  // try once: each would otherwise back off for seconds against the same dead endpoint,
  // and a failed backup would take minutes to report it. The first request that gets
  // through restores the retries.
  const int max_retries = unreachable_.load() ? 0 : max_retries_;
  Attempt at;
  for (int attempt = 0;; ++attempt) {
    at = SendOnce(h, request);
    bool retry = at.curl != CURLE_OK ? RetryableCurl(at.curl) : RetryableStatus(at.response);
    if (retry && Interrupted()) {
      Release(h);
      return Status::Interrupted("interrupted during s3 " + request.method + " " + ObjectUrl(request.key));
    }
    if (!retry || attempt >= max_retries) break;
    int delay = BackoffMs(attempt);
    std::string why = at.curl != CURLE_OK ? at.curl_error : "HTTP " + std::to_string(at.response.status);
    log::Warn("s3 {} {} failed ({}), retry {}/{} in {} ms", request.method, ObjectUrl(request.key), MaskSecrets(why),
              attempt + 1, max_retries, delay);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
  Release(h);
  unreachable_ = at.curl != CURLE_OK && RetryableCurl(at.curl);
  if (at.curl == CURLE_PEER_FAILED_VERIFICATION || at.curl == CURLE_SSL_CACERT_BADFILE) {
    return Status::IO("cannot reach " + config_.Endpoint() + ": tls verification failed: " + MaskSecrets(at.curl_error),
                      "point AWS_CA_BUNDLE at the CA certificate that signed the endpoint's certificate");
  }
  if (at.curl != CURLE_OK) {
    return Status::IO("cannot reach " + config_.Endpoint() + ": " + MaskSecrets(at.curl_error),
                      "check the network and PGKEEPER_S3_ENDPOINT / AWS_ENDPOINT_URL");
  }
  return std::move(at.response);
}

Status S3Client::ErrorFor(const S3Response& r, const std::string& what, const std::string& key) const {
  // Only S3's <Code> and <Message> are quoted: some servers echo the StringToSign and
  // canonical request in the body, which need not reach a log.
  std::string code = XmlText(r.body, "Code").value_or("");
  std::string message = XmlText(r.body, "Message").value_or("");
  std::string detail =
      "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + (message.empty() ? "" : ": " + message);
  detail = MaskSecrets(detail);
  std::string url = ObjectUrl(key);
  if (r.status == 403) {
    if (code == "RequestTimeTooSkewed") {
      return Status::Refused("access denied to " + url + " (" + detail + ")",
                             "the local clock differs from the server's; synchronise it (NTP)");
    }
    return Status::Refused("access denied to " + url + " (" + detail + ")",
                           "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or profile AWS_PROFILE "
                           "in ~/.aws/credentials) and that they may " +
                               what + " in bucket '" + config_.bucket + "'");
  }
  if (r.status == 404 && code == "NoSuchBucket") {
    return Status::NotFound("bucket '" + config_.bucket + "' does not exist at " + config_.Endpoint(),
                            "create the bucket, or check the s3:// url, AWS_REGION and PGKEEPER_S3_ENDPOINT");
  }
  if (r.status == 404) return Status::NotFound("file not found: " + url);
  std::string region = r.Header("x-amz-bucket-region");
  if (r.status == 301 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    return Status::Config("bucket '" + config_.bucket + "' is not in region " + config_.region + " (" + detail + ")",
                          region.empty() ? "set AWS_REGION to the bucket's region" : "set AWS_REGION=" + region);
  }
  return Status::IO("s3 " + what + " " + url + " failed: " + detail);
}

}  // namespace pgk::storage::s3
