#pragma once

#include <cstdint>
#include <string>

namespace certplan::auth {

// A request's nonce claim handed on to the request's own durable write, so that one statement
// records the nonce and the write together (one round trip, one commit; store/postgres). While a
// PendingNonce lives, the thread that made it carries it; the store's write on that thread takes
// it (Take) and then answers for it: kSignatureNonceUsed and nothing written when the nonce was
// used. What nobody took is claimed on its own by the gateway before the request is answered, so
// a replay is refused exactly as when the nonce is claimed at authentication. One per request;
// not nested.
class PendingNonce {
 public:
  struct Claim {
    std::string access_key_id;
    std::string nonce;
    int64_t expires_at = 0;
    int64_t now = 0;
  };

  explicit PendingNonce(Claim claim);  // installs it on this thread
  ~PendingNonce();                     // removes it from this thread, taken or not
  PendingNonce(const PendingNonce&) = delete;
  PendingNonce& operator=(const PendingNonce&) = delete;

  const Claim& claim() const { return claim_; }
  // Whether a write took the claim (and so answered for it).
  bool taken() const { return taken_; }

  // This thread's pending claim, which the caller now answers for; nullptr when there is none or
  // it was taken already. Valid until the PendingNonce ends.
  static const Claim* Take();
  // This thread's pending claim, not taken (a write that may still fail reads it, and Takes it
  // once its claim committed); nullptr when there is none or it was taken already.
  static const Claim* Peek();

 private:
  Claim claim_;
  bool taken_ = false;
};

}  // namespace certplan::auth
