// AWS Signature Version 4 (header-based), as S3 requires it. Pure functions with no I/O
// and no clock, so the unit tests can replay AWS's published test vectors byte for byte.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/hash.h"

namespace pgk::storage::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only; sent as x-amz-security-token
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;

// SigV4 URI encoding: every byte except the unreserved A-Za-z0-9-._~ becomes %XX
// (uppercase hex); '/' is kept when `keep_slash` (object key paths) and encoded otherwise
// (query names and values).
std::string UriEncode(std::string_view text, bool keep_slash);

// "name=value&..." with names and values URI-encoded, sorted by encoded name then value.
// The same string is used for the request URL, so what is signed is what is sent.
std::string CanonicalQuery(const QueryList& query);

struct SignInput {
  std::string method;         // GET, PUT, ...
  std::string canonical_uri;  // already URI-encoded path, e.g. "/bucket/a%20b"
  QueryList query;            // raw (unencoded) names and values
  HeaderList headers;         // every header to sign, including host and x-amz-date
  std::string payload_hash;   // lowercase hex SHA-256 of the body
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // lowercase hex
  std::string authorization;   // value of the Authorization header
};

// Signs `input` for `region`/`service` at `amz_date` ("YYYYMMDDTHHMMSSZ"). Header names
// are lowercased and sorted, values trimmed with inner runs of spaces collapsed.
Signature SignV4(const SignInput& input, const Credentials& credentials, std::string_view region,
                 std::string_view service, std::string_view amz_date);

// "YYYYMMDDTHHMMSSZ" for `t` (UTC).
std::string AmzDate(std::time_t t);

// Lowercase hex HMAC-SHA256 / raw digest helpers (OpenSSL).
std::string HmacSha256(std::string_view key, std::string_view data);
using ::pgk::HexEncode;  // common/hash.h
// Base64 of the MD5 of `data`: the Content-MD5 header S3 requires on DeleteObjects.
std::string Md5Base64(std::string_view data);

}  // namespace pgk::storage::s3
