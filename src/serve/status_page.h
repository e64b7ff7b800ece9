// The status page (GET /): one self-contained HTML document (inline CSS and SVG, no
// scripts or external assets) that answers in five seconds "is the database recoverable,
// and to which point": a verdict banner, the recoverable window, backups on a timeline,
// the last drill, the jobs and the warnings.
#pragma once

#include <string>

#include "serve/status.h"

namespace pgk::serve {

std::string RenderStatusPage(const StatusSnapshot& s, double now);

// "3 min ago", "2 h 5 min ago", "in 40 s".
std::string Ago(double seconds);

}  // namespace pgk::serve
