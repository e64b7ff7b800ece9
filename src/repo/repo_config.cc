#include "repo/repo_config.h"

#include <nlohmann/json.hpp>

namespace pgk::repo {

namespace {

using nlohmann::json;

// Top-level fields and the entries of "rekey" share one shape, so that the repository's
// key reads the same whether or not a rekey is under way.
void PutEntry(const KeyEntry& e, json* j) {
  (*j)["key_id"] = e.id;
  (*j)["key_check"] = e.check;
  if (e.kdf) {
    (*j)["kdf"] = {
        {"algorithm", e.kdf->algorithm}, {"salt", e.kdf->salt}, {"n", e.kdf->n}, {"r", e.kdf->r}, {"p", e.kdf->p}};
  }
}

KeyEntry GetEntry(const json& j) {
  KeyEntry e;
  e.id = j.value("key_id", "");
  e.check = j.value("key_check", "");
  if (j.contains("kdf") && !j["kdf"].is_null()) {
    const json& k = j["kdf"];
    e.kdf = KdfSpec{.algorithm = k.at("algorithm").get<std::string>(),
                    .salt = k.at("salt").get<std::string>(),
                    .n = k.at("n").get<uint64_t>(),
                    .r = k.at("r").get<uint64_t>(),
                    .p = k.at("p").get<uint64_t>()};
  }
  return e;
}

}  // namespace

std::vector<const KeyEntry*> RepoConfig::AcceptedKeys() const {
  std::vector<const KeyEntry*> out{&key};
  if (rekey) out.push_back(rekey->phase == RekeyPhase::kRewrap ? &rekey->to : &rekey->from);
  return out;
}

std::string_view RekeyPhaseName(RekeyPhase phase) { return phase == RekeyPhase::kRewrap ? "rewrap" : "cleanup"; }

std::string SerializeRepoConfig(const RepoConfig& c) {
  json j = {{"format", c.format}, {"created", c.created}, {"encrypted", c.encrypted}};
  if (c.encrypted) {
    PutEntry(c.key, &j);
  } else {
    j["key_check"] = "";  // what format 1 always wrote; older readers expect the field
  }
  if (c.rekey) {
    json from = json::object(), to = json::object();
    PutEntry(c.rekey->from, &from);
    PutEntry(c.rekey->to, &to);
    j["rekey"] = {{"phase", RekeyPhaseName(c.rekey->phase)}, {"started", c.rekey->started}, {"from", from}, {"to", to}};
  }
  return j.dump(2) + "\n";
}

Result<RepoConfig> ParseRepoConfig(const std::string& text, const std::string& origin) {
  RepoConfig c;
  try {
    json j = json::parse(text);
    c.format = j.at("format").get<int>();
    if (c.format != kRepoFormat) {
      return Status::Malformed("repository format " + std::to_string(c.format) + " in " + origin + " is not supported",
                               "use a newer pgkeeper");
    }
    c.created = j.value("created", "");
    c.encrypted = j.at("encrypted").get<bool>();
    if (c.encrypted) c.key = GetEntry(j);
    if (j.contains("rekey") && !j["rekey"].is_null()) {
      const json& r = j["rekey"];
      RekeyState s;
      std::string phase = r.at("phase").get<std::string>();
      if (phase == "rewrap") {
        s.phase = RekeyPhase::kRewrap;
      } else if (phase == "cleanup") {
        s.phase = RekeyPhase::kCleanup;
      } else {
        return Status::Malformed(origin + " has an unknown rekey phase '" + phase + "'", "use a newer pgkeeper");
      }
      s.started = r.value("started", "");
      s.from = GetEntry(r.at("from"));
      s.to = GetEntry(r.at("to"));
      c.rekey = std::move(s);
    }
  } catch (const std::exception& e) {
    return Status::Malformed(origin + " is damaged: " + e.what());
  }
  if (c.encrypted && c.key.check.empty()) return Status::Malformed(origin + " is encrypted but has no key check");
  return c;
}

}  // namespace pgk::repo
