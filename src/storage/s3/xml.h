// The few S3 XML responses pgkeeper reads (ListObjectsV2, CreateMultipartUpload, errors,
// DeleteObjects results) are flat and machine-written, so a tiny purpose-built scanner is
// enough: no DTDs, no namespaces-aware lookup, no CDATA. Element names match exactly,
// attributes on the opening tag are allowed, "<Tag/>" reads as empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgk::storage::s3 {

// The raw (still escaped) content of every <tag>...</tag> element in `xml`, in order.
// Elements of the same name must not nest (true of every response parsed here).
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);

// The unescaped text of the first <tag> element, nullopt when there is none.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag);

// Decodes &amp; &lt; &gt; &quot; &apos; and numeric references (&#NN; &#xHH;).
std::string XmlUnescape(std::string_view text);

// ISO 8601 UTC as in LastModified ("2009-10-12T17:50:30.000Z") to seconds since the
// epoch; nullopt when malformed.
std::optional<int64_t> ParseIso8601(std::string_view text);

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_s = 0;
};

struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken when truncated
};

// Parses a ListObjectsV2 response body; nullopt when it is not one.
std::optional<ListPage> ParseListObjectsV2(std::string_view xml);

}  // namespace pgk::storage::s3
