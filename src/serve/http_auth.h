// Access control for serve's HTTP endpoints. With a token configured (PGKEEPER_SERVE_TOKEN,
// else the file serve.token_file), /metrics, /api/status and the status page answer only a
// request that carries it, either as `Authorization: Bearer TOKEN` (Prometheus'
// `authorization.credentials_file`, curl -H) or as the password of HTTP Basic
// authentication with any user name (so that a browser can open the status page). The
// probes /live, /health and /ready stay open: the kubelet cannot send a secret, and they
// say no more than "up" or "down" with a reason.
//
// Without a token every endpoint is open, as before; serve warns at start-up when it then
// listens beyond loopback.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

namespace pgk::serve {

// Shorter tokens are refused: the token is the only thing between the network and the
// status page, and `openssl rand -hex 32` costs nothing.
constexpr size_t kMinTokenLength = 16;

// The token from the environment or serve.token_file (read with ReadPrivateFile: refused
// unless only its owner can read it), surrounding whitespace removed; nullopt when neither
// is set. Config errors name the source, never the token.
Result<std::optional<std::string>> LoadServeToken(const Config& config);

// Whether `path` is one of the probes that stay open.
bool IsOpenPath(std::string_view path);

// Whether the Authorization header value carries `token` (Bearer, or Basic with the token
// as the password). Comparison is in constant time for a given token length.
bool Authorized(std::string_view authorization, const std::string& token);

}  // namespace pgk::serve
