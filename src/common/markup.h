// Escaping text for XML and HTML: S3 request bodies and the status page.
#pragma once

#include <string>
#include <string_view>

namespace pgk {

// Escapes & < > " ' as entities, for element content and quoted attribute values of both
// XML and HTML (&apos; is an HTML5 entity too).
std::string EscapeMarkup(std::string_view text);

}  // namespace pgk
