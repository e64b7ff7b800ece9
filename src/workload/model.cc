#include "workload/model.h"

#include <map>

namespace pgk::workload {

const std::vector<std::string>& NextStates(const std::string& state) {
  static const std::map<std::string, std::vector<std::string>> kMachine = {
      {"pending", {"funded", "funded", "funded", "cancelled"}},  // weights by repetition
      {"funded", {"held"}},
      {"held", {"released", "released", "refunded", "disputed"}},
      {"disputed", {"released", "refunded"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kMachine.find(state);
  return it == kMachine.end() ? kNone : it->second;
}

bool IsTerminal(const std::string& state) { return NextStates(state).empty(); }

std::string NewId(const std::string& prefix, std::mt19937_64& rng) {
  static const char* kHex = "0123456789abcdef";
  std::string id = prefix + "_";
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) id += kHex[(a >> (i * 4)) & 15];
  for (int i = 0; i < 4; ++i) id += kHex[(b >> (i * 4)) & 15];
  return id;
}

}  // namespace pgk::workload
