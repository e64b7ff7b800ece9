// Where an s3:// URL points and with which credentials, resolved from the URL and the
// environment once, when the storage is opened (see s3_storage.h for the variables).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/s3/sigv4.h"

namespace pgk::storage::s3 {

struct S3Config {
  std::string bucket;
  std::string prefix;  // root prefix inside the bucket: "" or "some/path/" (ends with '/')
  std::string scheme;  // "https", or "http" for loopback endpoints only
  std::string host;    // endpoint host, without port
  int port = 0;        // 0: the scheme's default
  std::string region;
  bool path_style = false;  // https://host/bucket/key instead of https://bucket.host/key
  std::string ca_bundle;    // AWS_CA_BUNDLE; empty: the system's CA store
  Credentials credentials;

  // "scheme://host[:port]" as the user configured it, for messages.
  std::string Endpoint() const;
  // The Host header and URL authority requests go to (bucket first when virtual-hosted).
  std::string Authority() const;
  // "s3://bucket/prefix" (no trailing slash), for messages.
  std::string Url() const;
};

// Reads a variable; nullopt when unset. Injected so tests need not touch the process env.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Parses "s3://bucket[/prefix]" and resolves endpoint, region, addressing and
// credentials. InvalidArgument for a bad URL or an http endpoint that is not loopback,
// Config when no credentials can be found.
Result<S3Config> LoadS3Config(const std::string& url, const EnvLookup& env);

// Credentials of `profile` in an AWS shared credentials file (INI), nullopt when the
// profile or its keys are missing.
std::optional<Credentials> ParseCredentialsFile(const std::string& text, const std::string& profile);

}  // namespace pgk::storage::s3
