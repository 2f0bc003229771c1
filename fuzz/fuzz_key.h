#pragma once

#include <cstdint>
#include <string_view>

// The AccessKey and time the signed seeds in fuzz/corpus were made with (fuzz/make_seeds.js):
// the targets that verify signatures hold this key and run their clock at this time, so a seed
// passes verification unless the fuzzer changed something signed.
namespace certplan::fuzz {

constexpr std::string_view kAccessKeyId = "LTAI5tFuzzCorpusKey00001";
constexpr std::string_view kAccessKeySecret = "FuzzCorpusSecretNotForUse00001";
constexpr int64_t kSeedTime = 1'768'465'800;  // 2026-01-15T08:30:00Z

}  // namespace certplan::fuzz
