// The S3 driver: a repository in an S3 bucket (AWS or any S3-compatible server), at
// "s3://bucket/prefix". Paths are keys under the prefix; List works on key prefixes.
//
// Configuration comes from the environment, read once by OpenS3Storage():
//   PGKEEPER_S3_ENDPOINT   endpoint URL, e.g. https://minio.internal:9000
//   AWS_ENDPOINT_URL       used when PGKEEPER_S3_ENDPOINT is unset; with neither, the
//                          endpoint is https://s3.<region>.amazonaws.com
//   AWS_REGION             signing region (else AWS_DEFAULT_REGION, else us-east-1)
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//                          credentials; when the first two are unset, profile
//                          AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE
//                          (default ~/.aws/credentials) is read
//   PGKEEPER_S3_URI_STYLE  "path" (https://host/bucket/key) or "host"
//                          (https://bucket.host/key); default: path with a custom
//                          endpoint, host for AWS
//   AWS_CA_BUNDLE          CA certificate file for TLS verification (always on)
// Plain http is accepted only for loopback endpoints (127.0.0.0/8, localhost, ::1): test
// servers. Elsewhere it is refused with InvalidArgument, since requests and data would
// travel unencrypted.
//
// Behaviour callers may rely on: every request is SigV4-signed including the payload
// hash; 5xx, 429, timeouts and connection errors are retried with exponential backoff
// and jitter (StorageOptions::s3_max_retries), other 4xx never; writes are atomic (an
// object appears only once its upload completed); reads stream in 8 MiB ranged GETs;
// 403 is Refused ("access denied to s3://bucket/key" with a hint about credentials),
// an unreachable endpoint is IO ("cannot reach <endpoint>: ..."). Secrets never appear
// in messages or logs.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::storage {

// StorageOptions: s3_part_size must be 5 MiB..5 GiB (S3's limits for multipart parts),
// s3_parallel 1..64, s3_max_retries >= 0; else InvalidArgument. Nothing is sent to the
// server here: a wrong bucket or credentials show on the first operation.
Result<std::unique_ptr<Storage>> OpenS3Storage(const std::string& url, const StorageOptions& options);

}  // namespace pgk::storage
