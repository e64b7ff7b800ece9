#include "storage/s3/s3_config.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pgk::storage::s3 {

namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

bool IsLoopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

// "scheme://host[:port][/]" into its parts. A path on the endpoint is not supported:
// S3-compatible servers are addressed at their root.
Status ParseEndpoint(const std::string& endpoint, S3Config& cfg) {
  size_t sep = endpoint.find("://");
  if (sep == std::string::npos) {
    return Status::InvalidArgument("bad s3 endpoint '" + endpoint + "'", "write it as https://host[:port]");
  }
  cfg.scheme = endpoint.substr(0, sep);
  for (char& c : cfg.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string rest = endpoint.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (cfg.scheme != "https" && cfg.scheme != "http") {
    return Status::InvalidArgument("bad s3 endpoint '" + endpoint + "': scheme must be https or http");
  }
  if (rest.empty() || rest.find('/') != std::string::npos || rest.find('@') != std::string::npos) {
    return Status::InvalidArgument("bad s3 endpoint '" + endpoint + "'", "write it as https://host[:port]");
  }
  std::string port;
  if (rest.front() == '[') {  // [ipv6]:port
    size_t close = rest.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("bad s3 endpoint '" + endpoint + "'");
    cfg.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return Status::InvalidArgument("bad s3 endpoint '" + endpoint + "'");
      port = rest.substr(close + 2);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    cfg.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else {
    cfg.host = rest;
  }
  if (!port.empty()) {
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), cfg.port);
    if (ec != std::errc() || ptr != port.data() + port.size() || cfg.port <= 0 || cfg.port > 65535) {
      return Status::InvalidArgument("bad port in s3 endpoint '" + endpoint + "'");
    }
  }
  // Credentials and data would cross the network in clear text; on loopback they never
  // leave the machine, which is what test servers (s3rver, MinIO on a laptop) need.
  if (cfg.scheme == "http" && !IsLoopback(cfg.host)) {
    return Status::InvalidArgument("refusing plain http to s3 endpoint '" + endpoint + "'",
                                   "http would send the signed requests and the backup data unencrypted; "
                                   "use https (http is allowed only for 127.0.0.1/localhost test servers)");
  }
  return Status::Ok();
}

}  // namespace

std::string S3Config::Endpoint() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + (port ? ":" + std::to_string(port) : "");
}

std::string S3Config::Authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!path_style) h = bucket + "." + h;
  return h + (port ? ":" + std::to_string(port) : "");
}

std::string S3Config::Url() const {
  std::string p = prefix;
  if (!p.empty()) p.pop_back();
  return "s3://" + bucket + (p.empty() ? "" : "/" + p);
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::optional<Credentials> ParseCredentialsFile(const std::string& text, const std::string& profile) {
  std::istringstream in(text);
  std::string line;
  bool in_profile = false;
  Credentials c;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      std::string name = Trim(std::string_view(t).substr(1, t.size() - 2));
      // ~/.aws/config spells sections "profile name"; accept it in either file.
      if (name.rfind("profile ", 0) == 0) name = Trim(name.substr(8));
      in_profile = name == profile;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Trim(std::string_view(t).substr(0, eq));
    std::string value = Trim(std::string_view(t).substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) return std::nullopt;
  return c;
}

Result<S3Config> LoadS3Config(const std::string& url, const EnvLookup& env) {
  S3Config cfg;
  if (url.rfind("s3://", 0) != 0) return Status::InvalidArgument("not an s3 url: '" + url + "'");
  std::string rest = url.substr(5);
  size_t slash = rest.find('/');
  cfg.bucket = rest.substr(0, slash);
  if (cfg.bucket.empty() || cfg.bucket.find_first_of("@:?#") != std::string::npos) {
    return Status::InvalidArgument("bad s3 url '" + url + "'", "write it as s3://bucket/prefix");
  }
  if (slash != std::string::npos) {
    std::string prefix = rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty()) cfg.prefix = prefix + "/";
  }

  cfg.region = NonEmpty(env, "AWS_REGION").value_or(NonEmpty(env, "AWS_DEFAULT_REGION").value_or("us-east-1"));
  auto custom = NonEmpty(env, "PGKEEPER_S3_ENDPOINT");
  if (!custom) custom = NonEmpty(env, "AWS_ENDPOINT_URL");
  PGK_RETURN_IF_ERROR(ParseEndpoint(custom.value_or("https://s3." + cfg.region + ".amazonaws.com"), cfg));

  // S3-compatible servers rarely have wildcard DNS for bucket subdomains; AWS deprecates
  // path-style. Hence the defaults.
  cfg.path_style = custom.has_value();
  if (auto style = NonEmpty(env, "PGKEEPER_S3_URI_STYLE")) {
    if (*style == "path") {
      cfg.path_style = true;
    } else if (*style == "host") {
      cfg.path_style = false;
    } else {
      return Status::InvalidArgument("bad PGKEEPER_S3_URI_STYLE '" + *style + "'", "use path or host");
    }
  }
  // A bucket name with dots breaks TLS wildcard certificates in virtual-hosted style.
  if (!cfg.path_style && cfg.scheme == "https" && cfg.bucket.find('.') != std::string::npos) {
    return Status::InvalidArgument("bucket '" + cfg.bucket +
                                       "' contains dots, which virtual-hosted addressing "
                                       "cannot serve over https",
                                   "set PGKEEPER_S3_URI_STYLE=path");
  }
  cfg.ca_bundle = NonEmpty(env, "AWS_CA_BUNDLE").value_or("");

  auto key_id = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  auto secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (key_id && secret) {
    cfg.credentials = {*key_id, *secret, NonEmpty(env, "AWS_SESSION_TOKEN").value_or("")};
    return cfg;
  }
  std::string profile = NonEmpty(env, "AWS_PROFILE").value_or("default");
  std::string file = NonEmpty(env, "AWS_SHARED_CREDENTIALS_FILE").value_or("");
  if (file.empty()) {
    if (auto home = NonEmpty(env, "HOME")) file = *home + "/.aws/credentials";
  }
  std::ifstream in(file);
  if (!file.empty() && in) {
    std::stringstream ss;
    ss << in.rdbuf();
    if (auto c = ParseCredentialsFile(ss.str(), profile)) {
      cfg.credentials = std::move(*c);
      return cfg;
    }
  }
  return Status::Config("no s3 credentials for " + cfg.Url(),
                        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add profile [" + profile + "] to " +
                            (file.empty() ? std::string("~/.aws/credentials") : file));
}

}  // namespace pgk::storage::s3
