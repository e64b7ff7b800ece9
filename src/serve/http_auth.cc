#include "serve/http_auth.h"

#include <openssl/crypto.h>

#include <cctype>
#include <cstdlib>

#include "common/private_file.h"
#include "common/text.h"
#include "pipeline/base64.h"

namespace pgk::serve {

namespace {

bool StartsWithScheme(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return false;
  }
  return true;
}

// Constant time in the candidate's content: a timing difference must not tell an
// attacker how many leading characters were right.
bool SameSecret(std::string_view candidate, const std::string& token) {
  if (candidate.size() != token.size()) return false;
  return CRYPTO_memcmp(candidate.data(), token.data(), token.size()) == 0;
}

Result<std::string> CheckToken(std::string_view raw, const std::string& source) {
  std::string_view token = Trim(raw);
  if (token.size() < kMinTokenLength) {
    return Status::Config("the serve access token from " + source + " is shorter than " +
                              std::to_string(kMinTokenLength) + " characters",
                          "generate one with: openssl rand -hex 32");
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return Status::Config("the serve access token from " + source + " contains a space or a non-ASCII character",
                            "use printable ASCII only, e.g. openssl rand -hex 32");
    }
  }
  return std::string(token);
}

}  // namespace

Result<std::optional<std::string>> LoadServeToken(const Config& config) {
  if (const char* env = std::getenv("PGKEEPER_SERVE_TOKEN"); env != nullptr && *env != '\0') {
    PGK_ASSIGN_OR_RETURN(std::string token, CheckToken(env, "PGKEEPER_SERVE_TOKEN"));
    return std::optional<std::string>(std::move(token));
  }
  auto path = config.GetString("serve.token_file");
  if (!path || path->empty()) return std::optional<std::string>();
  auto text = ReadPrivateFile(*path, "serve token file", 4096);
  if (!text.ok()) return text.status().WithContext("serve.token_file in " + config.origin());
  PGK_ASSIGN_OR_RETURN(std::string token, CheckToken(*text, "serve.token_file " + *path));
  return std::optional<std::string>(std::move(token));
}

bool IsOpenPath(std::string_view path) { return path == "/live" || path == "/health" || path == "/ready"; }

bool Authorized(std::string_view authorization, const std::string& token) {
  std::string_view header = Trim(authorization);
  if (StartsWithScheme(header, "bearer")) return SameSecret(Trim(header.substr(7)), token);
  if (StartsWithScheme(header, "basic")) {
    auto decoded = pipeline::Base64Decode(Trim(header.substr(6)));
    if (!decoded) return false;
    std::string_view credentials(reinterpret_cast<const char*>(decoded->data()), decoded->size());
    auto colon = credentials.find(':');
    if (colon == std::string_view::npos) return false;
    return SameSecret(credentials.substr(colon + 1), token);
  }
  return false;
}

}  // namespace pgk::serve
