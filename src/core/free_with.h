#pragma once

namespace certplan {

// Deleter for C handles: std::unique_ptr<T, FreeWith<&T_free>>.
template <auto kFree>
struct FreeWith {
  void operator()(auto* p) const noexcept { kFree(p); }
};

}  // namespace certplan
