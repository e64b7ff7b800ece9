// Uploads one object. Data is buffered up to one part: a file smaller than a part goes
// up as a single PutObject on Close(); a larger one becomes a multipart upload whose
// parts are sent by up to `parallel` worker threads while the caller keeps writing.
// Memory stays bounded: at most `parallel` parts are queued or in flight plus the one
// being filled, and Write() blocks while every slot is busy. The object appears only
// when Close() completes the upload; Abort(), an error, or destroying the writer without
// Close() aborts the multipart upload, so nothing is left visible.
#pragma once

#include <memory>
#include <string>

#include "storage/s3/s3_client.h"
#include "storage/storage.h"

namespace pgk::storage::s3 {

// S3 limits a multipart upload to 10,000 parts of 5 MiB..5 GiB (the last may be smaller).
inline constexpr size_t kMinPartSize = 5u << 20;
inline constexpr size_t kMaxPartSize = size_t{5} << 30;
inline constexpr int kMaxParts = 10000;

std::unique_ptr<Writer> NewS3Writer(std::shared_ptr<S3Client> client, std::string key, size_t part_size, int parallel);

}  // namespace pgk::storage::s3
