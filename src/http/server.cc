#include "http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"

namespace certplan::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::chrono::seconds kWriteTimeout{30};
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kLingerBytes = 16 * 1024 * 1024;

// State every session shares with the server.
struct Shared {
  Application app;
  Limits limits;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> in_flight{0};
};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Shared& shared)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), shared_(shared) {}

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadRequest, shared_from_this()));
  }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_.limits.header_bytes));
    parser_->body_limit(shared_.limits.body_bytes);
    timed_out_ = false;
    const uint64_t generation = ++read_generation_;
    // One deadline for the whole request (a slow body cannot keep the connection forever);
    // on expiry we cancel the read and still answer 408, unlike tcp_stream's own timeout.
    timer_.expires_after(shared_.limits.read_timeout);
    timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
      // A stale expiry (queued just before this read completed) must not touch the next one.
      if (ec || generation != self->read_generation_) return;
      self->timed_out_ = true;
      error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(error_code ec, size_t) {
    ++read_generation_;
    timer_.cancel();
    if (ec) return OnReadError(ec);
    shared_.in_flight.fetch_add(1);
    bhttp::request<bhttp::string_body> req = parser_->release();
    rpc::Response answer = shared_.app.handle(ToRpcRequest(req));
    shared_.in_flight.fetch_sub(1);
    const bool keep_alive = req.keep_alive() && !shared_.draining.load();
    Send(std::move(answer), keep_alive, req.version());
  }

  void OnReadError(error_code ec) {
    const bool started = parser_->got_some() || buffer_.size() > 0;
    if (timed_out_) {
      // An idle keep-alive connection just closes; a request that stalled gets its answer.
      if (started)
        return Refuse(Error(ErrorCode::kRequestTimeout, "The request was not received in time."));
      return Close();
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return Close();
    }
    if (ec == bhttp::error::header_limit) {
      return Refuse(
          Error(ErrorCode::kHeaderTooLarge, "The request line and headers exceed the size limit."));
    }
    if (ec == bhttp::error::body_limit) {
      return Refuse(Error(ErrorCode::kBodyTooLarge, "The request body exceeds the size limit."));
    }
    Refuse(Error(ErrorCode::kBadRequest, "The request is not valid HTTP/1.1: " + ec.message()));
  }

  rpc::Request ToRpcRequest(bhttp::request<bhttp::string_body>& req) {
    rpc::Request out;
    out.method = std::string(req.method_string());
    std::string_view target = req.target();
    const size_t q = target.find('?');
    out.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
    out.headers.reserve(16);
    for (const auto& field : req) {
      out.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(req.body());
    error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) out.peer_ip = peer.address().to_string();
    return out;
  }

  void Refuse(const Error& error) {
    refused_ = true;
    Send(shared_.app.refuse(error), /*keep_alive=*/false, 11);
  }

  void Send(rpc::Response answer, bool keep_alive, unsigned version) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(answer.status), version);
    res->set(bhttp::field::server, "certplan");
    res->set(bhttp::field::content_type, answer.content_type);
    for (auto& [name, value] : answer.headers) res->set(name, value);
    res->body() = std::move(answer.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(kWriteTimeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, size_t) {
      self->OnWrite(ec, res->keep_alive());
    });
  }

  void OnWrite(error_code ec, bool keep_alive) {
    if (!ec && refused_) return Linger();
    if (ec || !keep_alive) return Close();
    stream_.expires_never();
    ReadRequest();
  }

  // After refusing a request the client may still be sending (a 2 MiB body, say). Closing now
  // would reset the connection and destroy our answer in its receive buffer, so we stop
  // writing and read-and-discard for a bounded time and amount first ("lingering close").
  void Linger() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    discard_ = std::make_unique<std::array<char, 16 * 1024>>();
    stream_.expires_after(kLingerTime);
    Discard(0);
  }

  void Discard(size_t total) {
    stream_.async_read_some(net::buffer(*discard_),
                            [self = shared_from_this(), total](error_code ec, size_t n) {
                              if (ec || total + n > kLingerBytes) return self->Close();
                              self->Discard(total + n);
                            });
  }

  void Close() {
    timer_.cancel();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool timed_out_ = false;
  bool refused_ = false;
  std::unique_ptr<std::array<char, 16 * 1024>> discard_;  // only while lingering
  uint64_t read_generation_ = 0;
  Shared& shared_;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Shared shared;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer drain_timer;
  std::chrono::steady_clock::time_point drain_deadline;

  Impl(ServerOptions opts, Application app, int threads)
      : options(std::move(opts)),
        ioc(threads),
        acceptor(net::make_strand(ioc)),
        signals(ioc, SIGINT, SIGTERM),
        drain_timer(ioc) {
    shared.app = std::move(app);
    shared.limits = options.limits;
  }

  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), shared)->Start();
      } else {
        log::Line(log::Level::kWarn, "accept failed").Str("error", ec.message()).Write();
      }
      Accept();
    });
  }

  void BeginDrain() {
    if (shared.draining.exchange(true)) return;
    log::Info("draining");
    net::post(acceptor.get_executor(), [this] {
      error_code ignored;
      acceptor.close(ignored);
    });
    drain_deadline = std::chrono::steady_clock::now() + options.drain_timeout;
    WaitForDrain();
  }

  void WaitForDrain() {
    if (shared.in_flight.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([this](error_code) { WaitForDrain(); });
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options, Application app) {
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.threads = threads;
  auto impl = std::make_unique<Impl>(std::move(options), std::move(app), threads);
  error_code ec;
  const net::ip::address address = net::ip::make_address(impl->options.host, ec);
  if (ec) {
    return InvalidParameter("listen", "\"" + impl->options.host + "\" is not an IP address.");
  }
  const tcp::endpoint endpoint(address, impl->options.port);
  tcp::acceptor& acceptor = impl->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (ec) {
    return Error(ErrorCode::kServiceUnavailable, "cannot listen on " + impl->options.host + ":" +
                                                     std::to_string(impl->options.port) + ": " +
                                                     ec.message());
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::Listen() {
  error_code ec;
  impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kServiceUnavailable,
                 "cannot listen on " + address() + ": " + ec.message());
  }
  return Ok{};
}

std::string Server::address() const {
  error_code ec;
  const tcp::endpoint ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return {};
  const std::string host =
      ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  return host + ":" + std::to_string(ep.port());
}

void Server::Run() {
  Impl& impl = *impl_;
  impl.signals.async_wait([&impl](error_code ec, int) {
    if (!ec) impl.BeginDrain();
  });
  impl.Accept();
  std::vector<std::thread> workers;
  for (int i = 1; i < impl.options.threads; ++i) {
    workers.emplace_back([&impl] { impl.ioc.run(); });
  }
  impl.ioc.run();
  for (std::thread& t : workers) t.join();
}

void Server::Stop() {
  net::post(impl_->ioc, [impl = impl_.get()] { impl->BeginDrain(); });
}

}  // namespace certplan::http
