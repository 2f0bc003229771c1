#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "rpc/request.h"

namespace certplan::http {

struct Limits {
  size_t header_bytes = 16 * 1024;  // request line + headers; a PEM CSR in the query fits
  size_t body_bytes = 1024 * 1024;
  std::chrono::seconds read_timeout{30};  // for a whole request, and for an idle keep-alive
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port
  int threads = 0;       // 0: one per core
  Limits limits;
  std::chrono::seconds drain_timeout{10};
};

// What the server needs from the application: answer one complete request (synchronously,
// thread-safe) and a way to answer requests refused by the HTTP layer itself.
struct Application {
  // Returns the response and writes the access-log line.
  std::function<rpc::Response(const rpc::Request&)> handle;
  std::function<rpc::Response(const Error&)> refuse;
};

// HTTP/1.1 on Asio (Beast's advanced-server model): a strand per connection, keep-alive,
// header/body limits and timeouts; a malformed, oversized or slow request gets a clean 4xx with
// the error envelope and the connection is closed. Run() serves until SIGTERM/SIGINT or Stop(),
// then drains in-flight requests (bounded by drain_timeout).
class Server {
 public:
  // Binds the address (so the port is held and known) without accepting connections yet:
  // kInvalidParameter for a host that is not an IP address, kServiceUnavailable when the
  // address cannot be bound.
  static Result<std::unique_ptr<Server>> Create(ServerOptions options, Application app);
  ~Server();

  // Starts accepting connections (until then a connecting client is refused), so whatever the
  // caller prints between Create() and Listen() is out before anyone can connect.
  // kServiceUnavailable when listen(2) fails.
  Status Listen();

  // The bound address, e.g. "127.0.0.1:8080" (the real port when 0 was asked).
  std::string address() const;
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
