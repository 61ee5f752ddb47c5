// How the balancer splits requests between the slots: the key= bucket and
// the smooth weighted interleave. Module-only arithmetic (the agent never
// computes a slot), kept in a pure C++17 header without nginx includes so
// that tests/ngx_module/ can check it directly.
#pragma once

#include <cstdint>
#include <string_view>

#include "cutover/state_layout.hpp"

namespace cutover::module {

inline constexpr std::uint32_t kKeyBuckets = 10000;
static_assert(kKeyBuckets == state::kWeightScale, "a bucket is one basis point of weight");

// key= bucketing: FNV-1a 64 folded through the splitmix64 finaliser, so
// similar keys (user ids 1, 2, 3...) spread evenly. Pinned by tests: tools
// that predict which keys go green compute the same function.
constexpr std::uint32_t KeyBucket(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<std::uint32_t>(h % kKeyBuckets);
}

// A key goes green when its bucket is below green's weight in basis points,
// so raising the weight only ever moves keys from blue to green.
constexpr bool KeyGoesGreen(std::uint32_t bucket, std::uint32_t green_weight_bp) noexcept {
  return bucket < green_weight_bp;
}

// Smooth weighted interleave (nginx's smooth weighted round robin for two
// members): over any run of kWeightScale picks green gets exactly
// green_weight_bp of them, and every prefix is within one pick of exact.
struct Interleave {
  std::int64_t current_blue = 0;
  std::int64_t current_green = 0;

  constexpr void Reset() noexcept { current_blue = current_green = 0; }

  constexpr state::Slot Next(std::uint32_t green_weight_bp) noexcept {
    const std::int64_t scale = state::kWeightScale;
    const std::int64_t g = green_weight_bp;
    current_blue += scale - g;
    current_green += g;
    if (current_green > current_blue) {
      current_green -= scale;
      return state::Slot::kGreen;
    }
    current_blue -= scale;
    return state::Slot::kBlue;
  }
};

}  // namespace cutover::module
