#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "rpc/request.h"

namespace certplan::http {

// How long the accept loop waits after a failed accept() it could not relieve.
inline constexpr std::chrono::milliseconds kAcceptBackoff{50};

struct Limits {
  // Request line + headers. The SDKs put a PEM CSR, or an uploaded certificate and its key,
  // in the query: 64 KiB fits them.
  size_t header_bytes = 64 * 1024;
  size_t body_bytes = 1024 * 1024;
  std::chrono::seconds read_timeout{30};  // for a whole request, and for an idle keep-alive
  // For the TLS handshake of a new HTTPS connection (until then it has completed no request,
  // so it may be shed at the cap).
  std::chrono::seconds handshake_timeout{10};
};

// An HTTPS listener: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers for 1.2, no renegotiation,
// no compression. The certificate chain and key are PEM files, read at Create() and again by
// ReloadTls() (SIGHUP).
struct TlsOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8443;   // 0: any free port
  std::string cert_file;  // the server's certificate, then its issuing chain
  std::string key_file;   // its private key (PEM); should be readable by the owner only
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port
  int threads = 0;       // 0: one per core
  Limits limits;
  std::chrono::seconds drain_timeout{10};
  // Connections held open at once. Create() lowers it to fit the descriptor limit (see there).
  // At the cap a new connection still gets in: the server closes one that has not completed a
  // request (the oldest first), else an idle keep-alive one; when every connection is busy the
  // new one is closed at once.
  size_t max_connections = 10000;
  // Bytes of request bodies being received at once, over all connections. A request whose
  // Content-Length does not fit what is left (or a chunked body that outgrows it) is refused
  // with 503 ServiceUnavailable and the connection closed; bodies are never allocated ahead
  // of the bytes that arrive. Must be at least limits.body_bytes.
  size_t body_budget_bytes = 64 * 1024 * 1024;
  // Also serve HTTPS. Both listeners share the threads, limits, cap and body budget.
  std::optional<TlsOptions> tls;
};

// What the server needs from the application: answer one complete request (synchronously,
// thread-safe) and a way to answer requests refused by the HTTP layer itself.
struct Application {
  // Returns the response and writes the access-log line.
  std::function<rpc::Response(const rpc::Request&)> handle;
  std::function<rpc::Response(const Error&)> refuse;
};

// HTTP/1.1 (and HTTPS, see TlsOptions) on Asio (Beast's advanced-server model): a strand per
// connection, keep-alive, header/body limits and timeouts; a malformed, oversized or slow request
// gets a clean 4xx with the error envelope and the connection is closed. Run() serves until
// SIGTERM/SIGINT or Stop(), then drains in-flight requests (bounded by drain_timeout).
//
// Framing is strict (RFC 9112 §2.2, §5.2, §6): bare CR or LF, obs-fold, a Transfer-Encoding
// other than exactly "chunked", Transfer-Encoding with Content-Length or in HTTP/1.0, more than
// one Content-Length or Host field: 400 BadRequest and the connection is closed, so bytes after
// a request that may be framed differently by an intermediary never run as a request.
//
// When accept() fails for want of descriptors (EMFILE/ENFILE) the server closes one connection
// it would shed at the cap and accepts again, or, with none to close, waits kAcceptBackoff
// before the next try; "accept failed" is logged at most once a second with the number of
// failures left out.
class Server {
 public:
  // Binds the address (so the port is held and known) without accepting connections yet. Also
  // raises the process's soft RLIMIT_NOFILE to its hard limit where allowed, and lowers
  // max_connections to leave descriptors for the store, the log and DNS: at most the soft limit
  // minus max(64, limit / 8). kInvalidParameter for a host that is not an IP address or a
  // body_budget_bytes below limits.body_bytes, or TLS files that cannot be loaded (or whose key
  // does not match the certificate); kServiceUnavailable if it cannot bind.
  static Result<std::unique_ptr<Server>> Create(ServerOptions options, Application app);
  ~Server();

  // Starts accepting connections (until then a connecting client is refused), so whatever the
  // caller prints between Create() and Listen() is out before anyone can connect. Run() calls
  // it when the caller has not. kServiceUnavailable when listen(2) fails.
  Status Listen();

  // The connection cap in force (after Create() fitted it to the descriptor limit).
  size_t max_connections() const;

  // The bound address, e.g. "127.0.0.1:8080" (the real port when 0 was asked).
  std::string address() const;
  // The bound HTTPS address; empty without TLS.
  std::string tls_address() const;

  // Reads options.tls's certificate and key files again; new connections use them, open ones
  // keep the certificate they were made with. On failure the old certificate stays in use and
  // the error is returned. Thread-safe; Run() calls it on SIGHUP (when TLS is on) and logs the
  // outcome.
  Status ReloadTls();
  // Blocks on the calling thread plus threads-1 others until stopped and drained.
  void Run();
  // Thread-safe; starts the drain.
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace certplan::http
