// /metrics: the status snapshot in Prometheus' text exposition format (version 0.0.4).
// Every metric always has its HELP and TYPE lines; a sample whose value is unknown (no
// drill yet, WAL archiving off) is left out rather than faked, so alerts can use absent().
// The names are a contract with deploy/ (alert rules, dashboards): docs/commands/serve.md
// lists them all.
#pragma once

#include <string>

#include "serve/status.h"

namespace pgk::serve {

std::string RenderMetrics(const StatusSnapshot& s);

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabel(const std::string& v);

}  // namespace pgk::serve
