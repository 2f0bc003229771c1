#include "auth/pending_nonce.h"

#include <utility>

namespace certplan::auth {
namespace {

thread_local PendingNonce* current = nullptr;

}  // namespace

PendingNonce::PendingNonce(Claim claim) : claim_(std::move(claim)) { current = this; }

PendingNonce::~PendingNonce() {
  if (current == this) current = nullptr;
}

const PendingNonce::Claim* PendingNonce::Take() {
  PendingNonce* pending = current;
  if (pending == nullptr || pending->taken_) return nullptr;
  pending->taken_ = true;
  return &pending->claim_;
}

const PendingNonce::Claim* PendingNonce::Peek() {
  const PendingNonce* pending = current;
  if (pending == nullptr || pending->taken_) return nullptr;
  return &pending->claim_;
}

}  // namespace certplan::auth
