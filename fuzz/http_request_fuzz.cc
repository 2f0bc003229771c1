// The HTTP request path up to and through signature verification: Beast's request parser with
// the server's limits (http::Limits), the conversion to rpc::Request that http/server.cc makes,
// and api::Gateway::Handle with a real Authenticator over a SQLite store in a temporary
// directory holding one account and its AccessKey (fuzz_key.h), so every request that gets that
// far has its V1 or V3 signature really checked. Seeds signed by the official SDKs pass and go
// on to the handlers (read-only ones; creations stop at the quota, as no plan is granted).
//
// Input: raw bytes as received on one connection; requests are answered in turn while the
// client keeps the connection alive, as the server does. CERTPLAN_FUZZ_PRINT=1 prints answers.
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "api/gateway.h"
#include "auth/authenticator.h"
#include "auth/replay_guard.h"
#include "cas/orders.h"
#include "cas/plans.h"
#include "core/log.h"
#include "fuzz_check.h"
#include "fuzz_key.h"
#include "http/server.h"
#include "iam/authorizer.h"
#include "ops/audit_trail.h"
#include "pki/builtin_ca.h"
#include "pki/secret_box.h"
#include "store/sqlite/sqlite_store.h"

namespace certplan::fuzz {
namespace {
namespace bhttp = boost::beast::http;

constexpr int64_t kAccountId = 1234567890;

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "fuzz setup: %s: %s\n", what, r.error().message.c_str());
    std::abort();
  }
  return std::move(*r);
}

// Everything that lives across inputs: the store, the CA and the services behind the gateway.
struct World {
  std::string dir;
  FakeClock clock{kSeedTime};
  std::unique_ptr<store::sqlite::SqliteStore> store;
  std::unique_ptr<pki::SecretBox> box;
  std::unique_ptr<pki::BuiltinCa> ca;
  std::unique_ptr<cas::Plans> plans;
  std::unique_ptr<cas::Orders> orders;
  std::unique_ptr<cas::Certificates> certificates;
  std::unique_ptr<iam::Authorizer> authorizer;
  std::unique_ptr<api::Services> services;
  std::unique_ptr<ops::AuditTrail> audit;

  World() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "certplan-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    dir = pattern;
    log::SetLevel(log::Level::kError);
    store = Must(store::sqlite::SqliteStore::Open(dir + "/db"), "store");
    box = Must(pki::SecretBox::Create(std::string(32, 'f')), "secret box");
    const audit::Actor seed{audit::PrincipalType::kCli, "fuzz", "", "", "", "seed"};
    Must(store->CreateAccount(kAccountId, "fuzz", kSeedTime,
                              audit::Succeeded(seed, kSeedTime, kAccountId, "AccountId")),
         "account");
    iam::AccessKey key;
    key.id = std::string(kAccessKeyId);
    key.account_id = kAccountId;
    key.sealed_secret = box->Seal(kAccessKeySecret, key.id);
    key.created_at = kSeedTime;
    Must(store->InsertAccessKey(key, nullptr), "access key");  // recorded with the account
    ca = Must(pki::BuiltinCa::Open(pki::CaFiles{dir + "/ca"}, kSeedTime), "CA");
    plans = std::make_unique<cas::Plans>(*store, clock);
    orders = std::make_unique<cas::Orders>(*store, *ca, *box, clock, cas::OrderSettings{});
    certificates = std::make_unique<cas::Certificates>(*store, *store, *box, clock);
    authorizer = std::make_unique<iam::Authorizer>(*store);
    services = std::make_unique<api::Services>(api::Services{*plans, *orders, *certificates});
    audit = std::make_unique<ops::AuditTrail>(*store, clock);
  }
  ~World() {
    audit.reset();
    certificates.reset();
    orders.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

World& TheWorld() {
  static World world;
  return world;
}

// As http/server.cc's Session::ToRpcRequest (names lower-cased, target split at '?').
rpc::Request ToRpcRequest(bhttp::request<bhttp::string_body>& req) {
  rpc::Request out;
  out.method = std::string(req.method_string());
  std::string_view target = req.target();
  const size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  out.body = std::move(req.body());
  out.peer_ip = "127.0.0.1";
  return out;
}

// The refusal the server sends for a parse error (http/server.cc's OnReadError).
Error RefusalFor(const boost::system::error_code& ec) {
  if (ec == bhttp::error::header_limit) return Error(ErrorCode::kHeaderTooLarge, "header limit");
  if (ec == bhttp::error::body_limit) return Error(ErrorCode::kBodyTooLarge, "body limit");
  return Error(ErrorCode::kBadRequest, "The request is not valid HTTP/1.1: " + ec.message());
}

void CheckAnswer(const rpc::Response& response) {
  // CERTPLAN_FUZZ_PRINT=1 shows each answer (to see how far the seeds get).
  static const bool print = std::getenv("CERTPLAN_FUZZ_PRINT") != nullptr;
  if (print) std::fprintf(stderr, "%d %s\n", response.status, response.body.c_str());
  // A fuzzed request may be refused in many ways, but never with an internal error.
  if (response.status >= 500) {
    std::fprintf(stderr, "status %d: %s\n", response.status, response.body.c_str());
  }
  FUZZ_CHECK(response.status >= 200 && response.status < 500);
  FUZZ_CHECK(!response.body.empty() && !response.content_type.empty());
}

int TestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  // A fresh replay guard per input, so an input means the same thing whatever ran before it.
  auth::MemoryReplayGuard replay(1000);
  auth::Authenticator authenticator(*world.store, *world.box, replay, world.clock,
                                    auth::AuthOptions{});
  api::Gateway gateway(authenticator, *world.authorizer, *world.services, *world.audit,
                       world.clock);
  const http::Limits limits;

  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(limits.header_bytes));
    parser.body_limit(limits.body_bytes);
    parser.eager(true);  // as http::read sets it
    boost::system::error_code ec;
    size_t used = 0;
    // As Beast's read loop with everything already received: put what is there; when the
    // parser takes nothing more from it, the peer has closed (put_eof, or end_of_stream when
    // not a byte of a request came).
    while (!parser.is_done()) {
      size_t n = 0;
      if (used < rest.size()) {
        n = parser.put(boost::asio::buffer(rest.data() + used, rest.size() - used), ec);
        used += n;
        if (ec == bhttp::error::need_more) ec = {};
        if (ec) break;
      }
      if (n == 0) {
        if (!parser.got_some()) return 0;  // closed between requests: nothing to answer
        parser.put_eof(ec);
        if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
        break;
      }
    }
    if (ec) {
      CheckAnswer(api::RenderTransportError(RefusalFor(ec)));
      return 0;
    }
    bhttp::request<bhttp::string_body> req = parser.release();
    const bool keep_alive = req.keep_alive();
    CheckAnswer(gateway.Handle(ToRpcRequest(req)).response);
    if (!keep_alive) return 0;
    rest.remove_prefix(used);
  }
  return 0;
}

}  // namespace
}  // namespace certplan::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return certplan::fuzz::TestOneInput(data, size);
}
