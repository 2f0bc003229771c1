#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cas/certificate.h"
#include "cas/order.h"

namespace certplan::store {

// How both backends keep an order's names in one column: comma-separated (names never hold
// commas).
inline std::string JoinDomains(const std::vector<std::string>& domains) {
  std::string out;
  for (const std::string& d : domains) {
    if (!out.empty()) out += ',';
    out += d;
  }
  return out;
}

inline std::vector<std::string> SplitDomains(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Order ids: cas::NewOrderId (random, 16 digits, below 2^53). Uniqueness comes from the primary
// key (callers retry).
inline int64_t NewOrderId() { return cas::NewOrderId(); }

// Upload CertIds: random in the range cas::kFirstUploadCertId gives them, disjoint from order ids
// (an issued entry's CertId is its order's id). Uniqueness from the primary key (callers retry).
inline int64_t NewUploadCertId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return cas::kFirstUploadCertId +
         static_cast<int64_t>(rng() % static_cast<uint64_t>(cas::kUploadCertIdSpan));
}

}  // namespace certplan::store
