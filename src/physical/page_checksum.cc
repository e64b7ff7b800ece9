#include "physical/page_checksum.h"

#include <algorithm>
#include <cstring>

namespace pgk::physical {

namespace {

constexpr int kSums = 32;
constexpr uint32_t kFnvPrime = 16777619;
// The initial states of the 32 sums; part of PostgreSQL's on-disk format.
constexpr uint32_t kBaseOffsets[kSums] = {
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756};

constexpr size_t kChecksumOffset = 8;  // pd_lsn (8 bytes), then pd_checksum
constexpr size_t kUpperOffset = 14;    // pd_flags (10), pd_lower (12), pd_upper (14)

inline void Comp(uint32_t& sum, uint32_t value) {
  uint32_t tmp = sum ^ value;
  sum = tmp * kFnvPrime ^ (tmp >> 17);
}

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

uint16_t PageChecksum(const char* page, size_t block_size, uint32_t blkno) {
  // A private, aligned copy with pd_checksum zeroed (the stored checksum is computed as if
  // it were zero) lets the 32 independent sums run as plain vector code.
  constexpr size_t kMaxBlock = 32768;
  alignas(64) uint32_t words[kMaxBlock / sizeof(uint32_t)];
  size_t n = std::min(block_size, kMaxBlock);
  std::memcpy(words, page, n);
  std::memset(reinterpret_cast<char*>(words) + kChecksumOffset, 0, sizeof(uint16_t));
  uint32_t sums[kSums];
  std::memcpy(sums, kBaseOffsets, sizeof sums);
  size_t rows = n / (sizeof(uint32_t) * kSums);
  for (size_t i = 0; i < rows; ++i) {
    const uint32_t* row = words + i * kSums;
    for (int j = 0; j < kSums; ++j) Comp(sums[j], row[j]);
  }
  for (int round = 0; round < 2; ++round)
    for (int j = 0; j < kSums; ++j) Comp(sums[j], 0);
  uint32_t result = 0;
  for (int j = 0; j < kSums; ++j) result ^= sums[j];
  result ^= blkno;
  return static_cast<uint16_t>(result % 65535 + 1);
}

uint64_t PageLsn(const char* page) {
  // PageXLogRecPtr: two uint32 halves, high first.
  uint64_t hi = Load<uint32_t>(page);
  uint64_t lo = Load<uint32_t>(page + 4);
  return hi << 32 | lo;
}

uint16_t PageStoredChecksum(const char* page) { return Load<uint16_t>(page + kChecksumOffset); }

bool PageIsNew(const char* page) { return Load<uint16_t>(page + kUpperOffset) == 0; }

PageVerdict CheckPage(const char* page, size_t block_size, uint32_t blkno, uint64_t backup_start_lsn) {
  if (PageIsNew(page)) {
    for (size_t i = 0; i < block_size; ++i)
      if (page[i] != 0) return PageVerdict::kBad;
    return PageVerdict::kNew;
  }
  if (PageLsn(page) >= backup_start_lsn) return PageVerdict::kTooNew;
  return PageChecksum(page, block_size, blkno) == PageStoredChecksum(page) ? PageVerdict::kOk : PageVerdict::kBad;
}

}  // namespace pgk::physical
