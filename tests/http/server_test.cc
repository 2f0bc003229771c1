// http::Server in-process on 127.0.0.1:0 with a trivial Application, driven with raw bytes over
// sockets: request smuggling, the connection cap, the body budget and descriptor exhaustion
// (issue #12).
#include "http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "pki/builtin_ca.h"
#include "pki/server_certificate.h"
#include "rpc/errors.h"
#include "rpc/render.h"
#include "testing/temp_dir.h"

namespace certplan::http {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kDeadline{10};

// Answers 200 with "METHOD PATH body=BODY"; counts what it handled. GET /block holds its
// I/O thread until Release() (or 10 s).
struct Counters {
  std::atomic<int> handled{0};
  std::atomic<int> blocked{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  void Release() { release.set_value(); }
};

Application TrivialApp(Counters& counters) {
  Application app;
  app.handle = [&counters](const rpc::Request& request) {
    ++counters.handled;
    if (request.path == "/block") {
      ++counters.blocked;
      counters.released.wait_for(std::chrono::seconds(10));
    }
    rpc::Response r;
    r.status = 200;
    r.content_type = "text/plain";
    r.body = request.method + " " + request.path + " body=" + request.body;
    return r;
  };
  app.refuse = [](const Error& error) {
    return rpc::RenderError(error, rpc::AnswerMeta{"TEST", "certplan", rpc::Format::kJson});
  };
  return app;
}

// A server running on its own thread for one test.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    if (options.tls) {
      options.tls->host = "127.0.0.1";
      options.tls->port = 0;
    }
    Result<std::unique_ptr<Server>> created = Server::Create(options, TrivialApp(counters));
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    if (!created) return;
    server_ = std::move(*created);
    EXPECT_TRUE(server_->Listen());  // accepting before the test connects
    const std::string address = server_->address();
    port_ = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    if (options.tls) {
      const std::string tls_address = server_->tls_address();
      tls_port_ = static_cast<uint16_t>(std::stoi(tls_address.substr(tls_address.rfind(':') + 1)));
    }
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~RunningServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }
  Server& server() { return *server_; }
  Counters counters;

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  uint16_t tls_port_ = 0;
};

// A client socket; closed on scope exit.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // Everything the server sends until it closes the connection (or the deadline passes:
  // then `closed` stays false).
  std::string ReadToClose(bool& closed, std::chrono::milliseconds limit = kDeadline) {
    std::string out;
    closed = false;
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (!WaitReadable(deadline)) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Reads until `count` complete responses arrived (Content-Length framed) or the deadline.
  std::string ReadResponses(size_t count) {
    std::string out;
    const auto deadline = Clock::now() + kDeadline;
    while (CountComplete(out) < count && Clock::now() < deadline) {
      if (!WaitReadable(deadline)) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // True if the server closed this connection (EOF or reset), waiting up to `limit`.
  bool ClosedByServer(std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (WaitReadable(deadline)) {
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }

  // True while the connection is open with nothing to read (checked without waiting).
  bool OpenAndQuiet() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  static size_t CountComplete(const std::string& text);

 private:
  bool WaitReadable(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
  }

  int fd_ = -1;
  bool connected_ = false;
};

struct Parsed {
  int status = 0;
  std::string head;
  std::string body;
};

// Splits a byte stream into responses (each framed by its Content-Length).
std::vector<Parsed> ParseResponses(const std::string& text) {
  std::vector<Parsed> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find("\r\n\r\n", pos);
    if (end == std::string::npos || text.compare(pos, 9, "HTTP/1.1 ") != 0) break;
    Parsed r;
    r.head = text.substr(pos, end - pos);
    r.status = std::stoi(text.substr(pos + 9, 3));
    size_t length = 0;
    std::string lower = r.head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (const size_t cl = lower.find("content-length: "); cl != std::string::npos) {
      length = std::stoul(lower.substr(cl + 16));
    }
    if (end + 4 + length > text.size()) break;
    r.body = text.substr(end + 4, length);
    out.push_back(std::move(r));
    pos = end + 4 + length;
  }
  return out;
}

size_t Conn::CountComplete(const std::string& text) { return ParseResponses(text).size(); }

std::string WireCode(const Parsed& r) {
  try {
    return nlohmann::json::parse(r.body).value("Code", "");
  } catch (const std::exception&) {
    return "";
  }
}

// Sends `bytes`, half-closes and reads until the server closes.
struct Exchange {
  std::vector<Parsed> responses;
  bool closed = false;
  std::string raw;
};
Exchange Send(uint16_t port, std::string_view bytes) {
  Conn c(port);
  Exchange x;
  if (!c.connected() || !c.Send(bytes)) return x;
  c.ShutdownWrite();
  x.raw = c.ReadToClose(x.closed);
  x.responses = ParseResponses(x.raw);
  return x;
}

// Every smuggling input gets exactly one answer, 400 BadRequest, and the connection closed;
// nothing reaches the application.
void ExpectRefusedOnce(RunningServer& server, std::string_view bytes) {
  const Exchange x = Send(server.port(), bytes);
  ASSERT_EQ(x.responses.size(), 1u) << x.raw;
  EXPECT_EQ(x.responses[0].status, 400) << x.raw;
  EXPECT_EQ(WireCode(x.responses[0]), "BadRequest") << x.raw;
  EXPECT_NE(x.responses[0].head.find("Connection: close"), std::string::npos) << x.raw;
  EXPECT_TRUE(x.closed);
  EXPECT_EQ(server.counters.handled.load(), 0);
}

constexpr std::string_view kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(HttpSmuggling, TransferEncodingNotEndingInChunkedIsRefused) {
  RunningServer server;
  // The input of issue #12: before the fix the body ran as a second request (400 then 404).
  ExpectRefusedOnce(server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" +
                                std::string(kSmuggled));
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n" +
                                std::string(kSmuggled));
}

TEST(HttpSmuggling, CodingsBeforeChunkedAreRefused) {
  RunningServer server;
  // We decode no coding but chunked (RFC 9112 §6.1), so a gzip-then-chunked body is refused.
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                    "0\r\n\r\n");
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

TEST(HttpSmuggling, TransferEncodingWithContentLengthIsAnsweredThenClosed) {
  RunningServer server;
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 5\r\n\r\n0\r\n\r\n" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
                    "Content-Length: 5\r\n\r\nhello" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding: gzip\r\n\r\nhello" +
                        std::string(kSmuggled));
}

TEST(HttpSmuggling, TransferEncodingInHttp10IsRefused) {
  RunningServer server;
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n0\r\n\r\n");
}

TEST(HttpSmuggling, RepeatedOrConflictingContentLengthIsRefused) {
  RunningServer server;
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
                    "hello" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello" +
                                std::string(kSmuggled));
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\n"
                    "hello" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello");
  ExpectRefusedOnce(server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello");
}

TEST(HttpSmuggling, ObsFoldIsRefused) {
  RunningServer server;
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
                    "0\r\n\r\n" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server, "GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n\tb\r\n\r\n");
  // Whitespace before the first field is the same fold, of the request line.
  ExpectRefusedOnce(server, "GET / HTTP/1.1\r\n Host: x\r\n\r\n");
}

TEST(HttpSmuggling, BareLineEndingsAreRefusedAtOnce) {
  RunningServer server;
  const auto start = Clock::now();
  // No CRLFCRLF ever arrives: without the byte check this would wait for the read timeout.
  ExpectRefusedOnce(server, "GET / HTTP/1.1\nHost: x\n\n");
  ExpectRefusedOnce(server, "GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n");
  ExpectRefusedOnce(server, "GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // In chunked framing too.
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\nhello\r\n0\r\n\r\n" +
                        std::string(kSmuggled));
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\n0\r\n\r\n" +
                        std::string(kSmuggled));
}

TEST(HttpSmuggling, OtherMalformedHeadersAreRefused) {
  RunningServer server;
  ExpectRefusedOnce(server, "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n");
  ExpectRefusedOnce(server, std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 37));
  ExpectRefusedOnce(server,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "-5\r\nhello\r\n0\r\n\r\n");
}

TEST(HttpFraming, ChunkedAndPipelinedRequestsStillWork) {
  RunningServer server;
  Conn c(server.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(
      c.Send("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
             "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
             "GET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::vector<Parsed> r = ParseResponses(c.ReadResponses(3));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "POST /a body=hello world");
  EXPECT_EQ(r[1].body, "POST /b body=abc");
  EXPECT_EQ(r[2].body, "GET /c body=");
  EXPECT_TRUE(c.OpenAndQuiet());  // keep-alive
}

// With more than one thread an answer is written at once, on the handler's thread; requests
// already waiting in the buffer behind it are still answered one after the other, in order
// (their writes are queued, never nested one request inside the other's).
TEST(HttpFraming, ManyPipelinedRequestsAreAnsweredInOrder) {
  RunningServer server;
  Conn c(server.port());
  ASSERT_TRUE(c.connected());
  constexpr int kRequests = 1000;
  std::string burst;
  for (int i = 0; i < kRequests; ++i) {
    burst += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  ASSERT_TRUE(c.Send(burst));
  const std::vector<Parsed> r = ParseResponses(c.ReadResponses(kRequests));
  ASSERT_EQ(r.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(r[i].status, 200);
    EXPECT_EQ(r[i].body, "GET /p" + std::to_string(i) + " body=") << i;
  }
  EXPECT_TRUE(c.OpenAndQuiet());  // keep-alive
}

TEST(HttpFraming, HeaderTooLargeStillAnswers431) {
  RunningServer server;
  // The default budget is 64 KiB (issue #11): a 65 KiB request line is over it.
  const Exchange x = Send(
      server.port(), "GET /?x=" + std::string(65 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(x.responses.size(), 1u) << x.raw;
  EXPECT_EQ(x.responses[0].status, 431);
  EXPECT_EQ(WireCode(x.responses[0]), "RequestHeaderFieldsTooLarge");
  EXPECT_TRUE(x.closed);
  EXPECT_EQ(server.counters.handled.load(), 0);
}

TEST(HttpFraming, A60KibQueryFitsTheDefaultHeaderBudget) {
  RunningServer server;
  EXPECT_EQ(Limits{}.header_bytes, 64u * 1024);
  const std::string query(60 * 1024, 'q');
  const Exchange x = Send(server.port(), "GET /up?x=" + query + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(x.responses.size(), 1u) << x.raw.substr(0, 200);
  EXPECT_EQ(x.responses[0].status, 200);
  EXPECT_EQ(server.counters.handled.load(), 1);
}

// ---- The connection cap ----

std::string Get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST(HttpConnectionCap, ShedsTheOldestConnectionThatNeverCompletedARequest) {
  ServerOptions options;
  options.max_connections = 4;
  RunningServer server(options);
  ASSERT_EQ(server.server().max_connections(), 4u);
  // `served` completed a request and stays open; three others never send a byte.
  Conn served(server.port());
  ASSERT_TRUE(served.Send(Get("/first")));
  ASSERT_EQ(ParseResponses(served.ReadResponses(1)).size(), 1u);
  Conn idle1(server.port()), idle2(server.port()), idle3(server.port());
  // The fifth connection still gets its answer ...
  Conn late(server.port());
  ASSERT_TRUE(late.Send(Get("/late")));
  const std::vector<Parsed> answer = ParseResponses(late.ReadResponses(1));
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].body, "GET /late body=");
  // ... because the oldest idle-never-completed one was closed to make room.
  EXPECT_TRUE(idle1.ClosedByServer(kDeadline));
  EXPECT_TRUE(idle2.OpenAndQuiet());
  EXPECT_TRUE(idle3.OpenAndQuiet());
  // The connection that had completed a request was kept and still serves.
  ASSERT_TRUE(served.Send(Get("/second")));
  const std::vector<Parsed> again = ParseResponses(served.ReadResponses(1));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body, "GET /second body=");
}

TEST(HttpConnectionCap, ShedsAHalfSentRequestBeforeAnIdleKeepAlive) {
  ServerOptions options;
  options.max_connections = 2;
  RunningServer server(options);
  Conn served(server.port());
  ASSERT_TRUE(served.Send(Get("/first")));
  ASSERT_EQ(ParseResponses(served.ReadResponses(1)).size(), 1u);
  Conn slow(server.port());
  ASSERT_TRUE(slow.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  Conn late(server.port());
  ASSERT_TRUE(late.Send(Get("/late")));
  ASSERT_EQ(ParseResponses(late.ReadResponses(1)).size(), 1u);
  EXPECT_TRUE(slow.ClosedByServer(kDeadline));
  EXPECT_TRUE(served.OpenAndQuiet());
}

TEST(HttpConnectionCap, WhenEveryConnectionIsBusyTheNewOneIsClosed) {
  ServerOptions options;
  options.max_connections = 1;
  RunningServer server(options);
  Conn busy(server.port());
  ASSERT_TRUE(busy.Send(Get("/block")));
  const auto deadline = Clock::now() + kDeadline;
  while (server.counters.blocked.load() == 0 && Clock::now() < deadline) {
    std::this_thread::yield();  // until the application holds the request
  }
  ASSERT_EQ(server.counters.blocked.load(), 1);
  Conn turned_away(server.port());
  bool closed = false;
  EXPECT_EQ(turned_away.ReadToClose(closed), "");  // closed without an answer
  EXPECT_TRUE(closed);
  server.counters.Release();
  const std::vector<Parsed> r = ParseResponses(busy.ReadResponses(1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "GET /block body=");
}

TEST(HttpConnectionCap, CreateFitsTheCapUnderTheDescriptorLimit) {
  ServerOptions options;
  options.max_connections = 100'000'000;
  RunningServer server(options);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, limit.rlim_max);  // raised to the hard limit
  EXPECT_LE(server.server().max_connections(),
            limit.rlim_cur - std::max<rlim_t>(64, limit.rlim_cur / 8));
  EXPECT_GT(server.server().max_connections(), 0u);
}

TEST(HttpConnectionCap, BudgetBelowTheBodyLimitIsRefused) {
  ServerOptions options;
  options.limits.body_bytes = 1 << 20;
  options.body_budget_bytes = 1 << 19;
  Counters counters;
  Result<std::unique_ptr<Server>> created = Server::Create(options, TrivialApp(counters));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidParameter);
}

// ---- The body budget ----

// Bytes sent to the server on `port` that it has not read yet, over every loopback socket
// (client send queues, server receive queues, and a listener's queue of unaccepted
// connections): 0 once the server took everything, our readiness signal.
int64_t BytesInFlight(uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // the column names
  int64_t total = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    const auto port_of = [](const std::string& address) {
      return std::stoul(address.substr(address.find(':') + 1), nullptr, 16);
    };
    if (port_of(local) != port && port_of(remote) != port) continue;
    const size_t colon = queues.find(':');
    total += static_cast<int64_t>(std::stoul(queues.substr(0, colon), nullptr, 16) +
                                  std::stoul(queues.substr(colon + 1), nullptr, 16));
  }
  return total;
}

bool WaitUntilServerReadAll(uint16_t port) {
  const auto deadline = Clock::now() + kDeadline;
  while (BytesInFlight(port) != 0) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the kernel's queues
  }
  return true;
}

std::string Post(size_t length) {
  return "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
}

TEST(HttpBodyBudget, BodiesBeyondTheBudgetAreRefusedAndTheServerKeepsAnswering) {
  ServerOptions options;
  options.limits.body_bytes = 64 * 1024;
  options.body_budget_bytes = 4 * 64 * 1024;
  RunningServer server(options);
  // Four clients claim the whole budget and never finish their bodies.
  std::vector<std::unique_ptr<Conn>> hostile;
  for (int i = 0; i < 4; ++i) {
    hostile.push_back(std::make_unique<Conn>(server.port()));
    ASSERT_TRUE(hostile.back()->Send(Post(64 * 1024) + std::string(64 * 1024 - 1, 'a')));
  }
  ASSERT_TRUE(WaitUntilServerReadAll(server.port()));
  // Even a one-byte body is refused now.
  const Exchange probe = Send(server.port(), Post(1) + "a");
  ASSERT_EQ(probe.responses.size(), 1u) << probe.raw;
  EXPECT_EQ(probe.responses[0].status, 503);
  EXPECT_EQ(WireCode(probe.responses[0]), "ServiceUnavailable");
  EXPECT_TRUE(probe.closed);
  // A chunked body is refused as its bytes arrive.
  const Exchange chunked =
      Send(server.port(),
           "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  ASSERT_EQ(chunked.responses.size(), 1u) << chunked.raw;
  EXPECT_EQ(chunked.responses[0].status, 503);
  // A request without a body is still served.
  const Exchange get = Send(server.port(), Get("/"));
  ASSERT_EQ(get.responses.size(), 1u) << get.raw;
  EXPECT_EQ(get.responses[0].status, 200);
  // When a hostile client goes, its share comes back.
  hostile.pop_back();
  Exchange after;
  const auto deadline2 = Clock::now() + kDeadline;
  do {
    after = Send(server.port(), Post(5) + "hello");
  } while (!(after.responses.size() == 1 && after.responses[0].status == 200) &&
           Clock::now() < deadline2);
  ASSERT_EQ(after.responses.size(), 1u) << after.raw;
  EXPECT_EQ(after.responses[0].body, "POST / body=hello");
}

TEST(HttpBodyBudget, ChunkedBodiesCountAgainstTheBudget) {
  ServerOptions options;
  options.limits.body_bytes = 64 * 1024;
  options.body_budget_bytes = 64 * 1024;
  RunningServer server(options);
  // One chunked body that stays open holds 40 KiB; another may not take 40 KiB more.
  Conn first(server.port());
  ASSERT_TRUE(first.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         std::string("a000\r\n") + std::string(0xa000, 'a') + "\r\n"));
  ASSERT_TRUE(WaitUntilServerReadAll(server.port()));
  const Exchange second =
      Send(server.port(), "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                              std::string("a000\r\n") + std::string(0xa000, 'b') + "\r\n0\r\n\r\n");
  ASSERT_EQ(second.responses.size(), 1u) << second.raw;
  EXPECT_EQ(second.responses[0].status, 503);
  // The first finishes and is served whole.
  ASSERT_TRUE(first.Send("0\r\n\r\n"));
  const std::vector<Parsed> r = ParseResponses(first.ReadResponses(1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body.size(), std::string("POST / body=").size() + 0xa000);
}

// ---- Descriptor exhaustion (EMFILE), in a forked child whose limit we lower ----

// The child: a server whose descriptor limit is cut to `spare` free descriptors after it
// listens; it writes its port to `port_pipe` and serves until SIGTERM. Log goes to `log_file`.
[[noreturn]] void RunStarvedServer(int port_pipe, const std::string& log_file, int spare) {
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(log_fd, STDERR_FILENO);
  ::close(log_fd);
  Counters counters;
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = 1;
  options.max_connections = 1000;  // far above what the lowered limit allows
  Result<std::unique_ptr<Server>> server = Server::Create(options, TrivialApp(counters));
  if (!server) ::_exit(3);
  if (!(*server)->Listen()) ::_exit(6);
  int highest = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::stoi(entry.path().filename().string()));
  }
  // Fill the holes below the highest descriptor, so exactly `spare` numbers stay free.
  for (int fd = ::open("/dev/null", O_RDONLY); fd >= 0 && fd < highest;
       fd = ::open("/dev/null", O_RDONLY)) {
  }
  highest = ::open("/dev/null", O_RDONLY);
  const std::string address = (*server)->address();
  const uint16_t port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  // Descriptors are numbered from the lowest free one, and the limit bounds the number.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = static_cast<rlim_t>(highest + 1 + spare);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(4);
  // The pipe stays open: closing it would free a descriptor.
  if (::write(port_pipe, &port, sizeof port) != sizeof port) ::_exit(5);
  (*server)->Run();
  ::_exit(0);
}

class StarvedServer {
 public:
  explicit StarvedServer(int spare) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      RunStarvedServer(fds[1], dir_.File("log"), spare);
    }
    ::close(fds[1]);
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 10000) > 0 && ::read(fds[0], &port_, sizeof port_) != sizeof port_) {
      port_ = 0;
    }
    ::close(fds[0]);
  }
  ~StarvedServer() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  uint16_t port() const { return port_; }

  // The log's lines whose msg is `msg`, each checked to be JSON.
  std::vector<nlohmann::json> Lines(std::string_view msg) const {
    std::ifstream in(dir_.File("log"));
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) {
        ADD_FAILURE() << "a log line is not JSON: " << line;
        continue;
      }
      if (j.value("msg", "") == msg) out.push_back(std::move(j));
    }
    return out;
  }
  std::string Text() const {
    std::ifstream in(dir_.File("log"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // Waits until the log has `count` lines of `msg`.
  bool WaitForLines(std::string_view msg, size_t count) const {
    const auto deadline = Clock::now() + kDeadline;
    while (Clock::now() < deadline) {
      if (Lines(msg).size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the file
    }
    return false;
  }

 private:
  testing::TempDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

TEST(HttpDescriptorExhaustion, ShedsIdleConnectionsAndKeepsAnswering) {
  StarvedServer server(/*spare=*/4);
  ASSERT_NE(server.port(), 0);
  const auto start = Clock::now();
  // Far more idle connections than descriptors: accept() fails with EMFILE.
  std::vector<std::unique_ptr<Conn>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<Conn>(server.port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  ASSERT_TRUE(server.WaitForLines("accept failed", 1)) << server.Text();
  // A request on a new connection is still answered ...
  Conn c(server.port());
  ASSERT_TRUE(c.Send(Get("/still-here")));
  const std::vector<Parsed> r = ParseResponses(c.ReadResponses(1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "GET /still-here body=");
  // ... by closing the oldest idle ones.
  EXPECT_TRUE(idle.front()->ClosedByServer(kDeadline));
  // And the log did not flood: one line a second at most (the issue saw 130,000 a second).
  const double seconds =
      std::chrono::duration_cast<std::chrono::duration<double>>(Clock::now() - start).count();
  const std::vector<nlohmann::json> lines = server.Lines("accept failed");
  EXPECT_GE(lines.size(), 1u);
  EXPECT_LE(static_cast<double>(lines.size()), seconds + 2);
  EXPECT_NE(lines[0].value("error", "").find("open files"), std::string::npos) << lines[0];
}

TEST(HttpDescriptorExhaustion, WithNothingToShedTheAcceptLoopBacksOff) {
  // No spare descriptor: not even one connection can be accepted, and none can be shed.
  StarvedServer server(/*spare=*/0);
  ASSERT_NE(server.port(), 0);
  Conn waiting(server.port());  // completes the handshake; accept() keeps failing
  ASSERT_TRUE(waiting.connected());
  // The second line comes a second after the first and counts the failures in between: with
  // a kAcceptBackoff pause each, about 20, where a spinning loop makes 100,000.
  ASSERT_TRUE(server.WaitForLines("accept failed", 2)) << server.Text();
  const std::vector<nlohmann::json> lines = server.Lines("accept failed");
  const int64_t skipped = lines[1].value("failures_not_logged", int64_t{-1});
  EXPECT_GE(skipped, 1);
  EXPECT_LE(skipped, 1000 / kAcceptBackoff.count() * 3);
}

// ---- HTTPS (issue #11): the same sessions over TLS ----

// A built-in CA in a temporary directory and server certificates from it, as `serve` makes
// them (pki::EnsureServerCertificate).
class TestPki {
 public:
  TestPki() {
    Result<std::unique_ptr<pki::BuiltinCa>> ca = pki::BuiltinCa::Open({dir_.File("ca")}, Now());
    EXPECT_TRUE(ca) << (ca ? "" : ca.error().message);
    if (ca) ca_ = std::move(*ca);
  }
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A certificate for 127.0.0.1 and `name` in its own directory.
  pki::ServerCertificateFiles Issue(const std::string& name) {
    Result<pki::ServerCertificateFiles> files = pki::EnsureServerCertificate(
        *ca_, dir_.File(name), pki::ServerCertificateNames("127.0.0.1", {name}), Now());
    EXPECT_TRUE(files) << (files ? "" : files.error().message);
    return files ? *files : pki::ServerCertificateFiles{};
  }
  const std::string& dir() const { return dir_.path(); }

 private:
  testing::TempDir dir_;
  std::unique_ptr<pki::BuiltinCa> ca_;
};

ServerOptions WithTls(const pki::ServerCertificateFiles& files, ServerOptions options = {}) {
  options.tls = TlsOptions{"127.0.0.1", 0, files.cert_file, files.key_file};
  return options;
}

int ConnectLoopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{static_cast<time_t>(kDeadline.count()), 0};  // no read blocks forever
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return fd;
}

// A blocking OpenSSL client verifying the server against `ca_file` (and 127.0.0.1); versions
// outside [min_version, max_version] are not offered.
class TlsConn {
 public:
  TlsConn(uint16_t port, const std::string& ca_file, int min_version = TLS1_2_VERSION,
          int max_version = TLS1_3_VERSION) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    // Level 0, so the client itself is willing to offer TLS 1.0/1.1: the server must refuse.
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx_, min_version);
    SSL_CTX_set_max_proto_version(ctx_, max_version);
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = ConnectLoopback(port);
    if (fd_ < 0) return;
    ssl_ = SSL_new(ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    SSL_set_fd(ssl_, fd_);
    ERR_clear_error();
    connected_ = SSL_connect(ssl_) == 1;
    if (!connected_) error_ = ERR_GET_REASON(ERR_peek_last_error());
  }
  ~TlsConn() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  bool connected() const { return connected_; }
  int error_reason() const { return error_; }  // of a failed handshake
  std::string version() const { return connected_ ? SSL_get_version(ssl_) : ""; }
  // The serial number of the certificate the server presented (hex).
  std::string PeerSerial() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (!cert) return "";
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    return out;
  }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `count` complete responses arrived, the connection ends or the deadline.
  std::string ReadResponses(size_t count) {
    std::string out;
    while (Conn::CountComplete(out) < count) {
      char buf[4096];
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Everything until the server closes; `closed` is false when the read timed out instead.
  std::string ReadToClose(bool& closed) {
    std::string out;
    closed = false;
    for (;;) {
      char buf[4096];
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      const int e = SSL_get_error(ssl_, n);
      closed = e == SSL_ERROR_ZERO_RETURN ||
               (e == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK) ||
               e == SSL_ERROR_SSL;
      return out;
    }
  }

  // Asks for a renegotiation (TLS 1.2); returns SSL_do_handshake's result and the error reason.
  int Renegotiate(int& reason) {
    ERR_clear_error();
    if (SSL_renegotiate(ssl_) != 1) {
      reason = ERR_GET_REASON(ERR_peek_last_error());
      return 0;
    }
    const int r = SSL_do_handshake(ssl_);
    reason = ERR_GET_REASON(ERR_peek_last_error());
    return r;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  int error_ = 0;
};

// One exchange over TLS: sends `bytes` and reads until the server closes.
Exchange SendTls(uint16_t port, const std::string& ca_file, std::string_view bytes) {
  TlsConn c(port, ca_file);
  Exchange x;
  if (!c.connected() || !c.Send(bytes)) return x;
  x.raw = c.ReadToClose(x.closed);
  x.responses = ParseResponses(x.raw);
  return x;
}

TEST(HttpsTls, Tls13And12AreServedWithTheCertificateClientsVerify) {
  TestPki pki;
  const pki::ServerCertificateFiles files = pki.Issue("a.test");
  RunningServer server(WithTls(files));
  ASSERT_NE(server.tls_port(), 0);
  ASSERT_NE(server.tls_port(), server.port());
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    TlsConn c(server.tls_port(), files.ca_file, TLS1_2_VERSION, version);
    ASSERT_TRUE(c.connected()) << ERR_reason_error_string(
        static_cast<unsigned long>(c.error_reason()));
    EXPECT_EQ(c.version(), version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2");
    ASSERT_TRUE(c.Send(Get("/over-tls")));
    const std::vector<Parsed> r = ParseResponses(c.ReadResponses(1));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, "GET /over-tls body=");
  }
  // Plain HTTP keeps answering on its own port.
  Conn plain(server.port());
  ASSERT_TRUE(plain.Send(Get("/plain")));
  EXPECT_EQ(ParseResponses(plain.ReadResponses(1)).size(), 1u);
}

TEST(HttpsTls, Tls11AndOlderAreRefused) {
  TestPki pki;
  const pki::ServerCertificateFiles files = pki.Issue("a.test");
  RunningServer server(WithTls(files));
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    TlsConn c(server.tls_port(), files.ca_file, version, version);
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(c.error_reason(), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
        << ERR_reason_error_string(static_cast<unsigned long>(c.error_reason()));
  }
  EXPECT_EQ(server.counters.handled.load(), 0);
}

TEST(HttpsTls, RenegotiationIsRefused) {
  TestPki pki;
  const pki::ServerCertificateFiles files = pki.Issue("a.test");
  RunningServer server(WithTls(files));
  TlsConn c(server.tls_port(), files.ca_file, TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(Get("/before")));
  ASSERT_EQ(ParseResponses(c.ReadResponses(1)).size(), 1u);
  int reason = 0;
  EXPECT_NE(c.Renegotiate(reason), 1);
  EXPECT_EQ(reason, SSL_R_NO_RENEGOTIATION)
      << ERR_reason_error_string(static_cast<unsigned long>(reason));
  EXPECT_EQ(server.counters.handled.load(), 1);
}

TEST(HttpsTls, SmugglingIsRefusedOverTls) {
  TestPki pki;
  const pki::ServerCertificateFiles files = pki.Issue("a.test");
  RunningServer server(WithTls(files));
  for (const std::string& bytes :
       {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        "0\r\n\r\n" +
            std::string(kSmuggled),
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + std::string(kSmuggled),
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhello" +
            std::string(kSmuggled),
        std::string("GET / HTTP/1.1\nHost: x\r\n\r\n")}) {
    const Exchange x = SendTls(server.tls_port(), files.ca_file, bytes);
    ASSERT_EQ(x.responses.size(), 1u) << x.raw;
    EXPECT_EQ(x.responses[0].status, 400) << x.raw;
    EXPECT_EQ(WireCode(x.responses[0]), "BadRequest") << x.raw;
    EXPECT_TRUE(x.closed);
  }
  EXPECT_EQ(server.counters.handled.load(), 0);
}

TEST(HttpsTls, LimitsApplyOverTls) {
  TestPki pki;
  const pki::ServerCertificateFiles files = pki.Issue("a.test");
  ServerOptions options;
  options.limits.body_bytes = 4096;
  options.body_budget_bytes = 4096;
  options.limits.read_timeout = std::chrono::seconds(1);
  RunningServer server(WithTls(files, options));
  // The request line + headers: 60 KiB fits, 65 KiB gets 431.
  {
    TlsConn c(server.tls_port(), files.ca_file);
    ASSERT_TRUE(c.Send("GET /q?x=" + std::string(60 * 1024, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::vector<Parsed> r = ParseResponses(c.ReadResponses(1));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
  }
  Exchange x = SendTls(server.tls_port(), files.ca_file,
                       "GET /?x=" + std::string(65 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(x.responses.size(), 1u) << x.raw.substr(0, 200);
  EXPECT_EQ(x.responses[0].status, 431);
  EXPECT_EQ(WireCode(x.responses[0]), "RequestHeaderFieldsTooLarge");
  // The body limit.
  x = SendTls(
      server.tls_port(), files.ca_file,
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b'));
  ASSERT_EQ(x.responses.size(), 1u) << x.raw;
  EXPECT_EQ(x.responses[0].status, 413);
  // A request that stalls mid-header gets 408 after the read timeout.
  TlsConn slow(server.tls_port(), files.ca_file);
  ASSERT_TRUE(slow.Send("GET / HTTP/1.1\r\nHost"));
  bool closed = false;
  const std::vector<Parsed> timed_out = ParseResponses(slow.ReadToClose(closed));
  ASSERT_EQ(timed_out.size(), 1u);
  EXPECT_EQ(timed_out[0].status, 408);
  EXPECT_TRUE(closed);
  EXPECT_EQ(server.counters.handled.load(), 1);
}

TEST(HttpsTls, AStalledHandshakeIsClosedAtItsDeadline) {
  TestPki pki;
  const pki::ServerCertificateFiles files = pki.Issue("a.test");
  ServerOptions options;
  options.limits.handshake_timeout = std::chrono::seconds(1);
  RunningServer server(WithTls(files, options));
  Conn stalled(server.tls_port());  // TCP only: never sends a ClientHello
  ASSERT_TRUE(stalled.connected());
  const auto start = Clock::now();
  EXPECT_TRUE(stalled.ClosedByServer(kDeadline));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // Half a ClientHello is no better.
  Conn partial(server.tls_port());
  ASSERT_TRUE(partial.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  EXPECT_TRUE(partial.ClosedByServer(kDeadline));
}

TEST(HttpsTls, AStalledHandshakeIsShedAtTheCapSharedWithHttp) {
  TestPki pki;
  const pki::ServerCertificateFiles files = pki.Issue("a.test");
  ServerOptions options;
  options.max_connections = 2;
  options.limits.handshake_timeout = std::chrono::seconds(60);  // shedding, not the deadline
  RunningServer server(WithTls(files, options));
  Conn stalled(server.tls_port());  // TCP only: never sends a ClientHello
  ASSERT_TRUE(stalled.connected());
  // One listener accepts in order: once `served` is answered, `stalled` is registered.
  TlsConn served(server.tls_port(), files.ca_file);
  ASSERT_TRUE(served.connected());
  ASSERT_TRUE(served.Send(Get("/served")));
  ASSERT_EQ(ParseResponses(served.ReadResponses(1)).size(), 1u);
  // Plain HTTP and HTTPS share one cap: the HTTP request gets in by shedding the handshake
  // that never completed, not the TLS connection that completed a request.
  Conn plain(server.port());
  ASSERT_TRUE(plain.Send(Get("/plain")));
  ASSERT_EQ(ParseResponses(plain.ReadResponses(1)).size(), 1u);
  EXPECT_TRUE(stalled.ClosedByServer(kDeadline));
  ASSERT_TRUE(served.Send(Get("/again")));
  const std::vector<Parsed> again = ParseResponses(served.ReadResponses(1));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body, "GET /again body=");
}

TEST(HttpsTls, ReloadSwapsTheCertificateForNewConnectionsOnly) {
  TestPki pki;
  const pki::ServerCertificateFiles first = pki.Issue("first.test");
  const pki::ServerCertificateFiles second = pki.Issue("second.test");
  // The server reads fixed paths; the test replaces their contents.
  const std::string cert = pki.dir() + "/live.crt", key = pki.dir() + "/live.key";
  std::filesystem::copy_file(first.cert_file, cert);
  std::filesystem::copy_file(first.key_file, key);
  pki::ServerCertificateFiles live = first;
  live.cert_file = cert, live.key_file = key;
  RunningServer server(WithTls(live));

  TlsConn kept(server.tls_port(), first.ca_file);
  ASSERT_TRUE(kept.connected());
  const std::string first_serial = kept.PeerSerial();
  ASSERT_TRUE(kept.Send(Get("/one")));
  ASSERT_EQ(ParseResponses(kept.ReadResponses(1)).size(), 1u);

  // A failed reload (the new certificate with the old key) keeps the old certificate.
  std::filesystem::copy_file(second.cert_file, cert,
                             std::filesystem::copy_options::overwrite_existing);
  const Status failed = server.server().ReloadTls();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kInvalidParameter);
  {
    TlsConn c(server.tls_port(), first.ca_file);
    ASSERT_TRUE(c.connected());
    EXPECT_EQ(c.PeerSerial(), first_serial);
  }

  // With the matching key, SIGHUP reloads: a new connection sees the new certificate. (Run()
  // registered SIGHUP before serving the request above.)
  std::filesystem::copy_file(second.key_file, key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(::raise(SIGHUP), 0);
  std::string seen;
  const auto deadline = Clock::now() + kDeadline;
  while (Clock::now() < deadline) {
    TlsConn c(server.tls_port(), first.ca_file);
    ASSERT_TRUE(c.connected());
    seen = c.PeerSerial();
    if (seen != first_serial) break;
    std::this_thread::yield();
  }
  EXPECT_NE(seen, first_serial);
  // The keep-alive connection made before still works, with its certificate.
  ASSERT_TRUE(kept.Send(Get("/two")));
  const std::vector<Parsed> r = ParseResponses(kept.ReadResponses(1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "GET /two body=");
  EXPECT_EQ(kept.PeerSerial(), first_serial);
}

TEST(HttpsTls, CreateRefusesTlsFilesThatCannotWork) {
  TestPki pki;
  const pki::ServerCertificateFiles a = pki.Issue("a.test");
  const pki::ServerCertificateFiles b = pki.Issue("b.test");
  Counters counters;
  for (auto [cert, key] :
       {std::pair{a.cert_file, b.key_file}, std::pair{pki.dir() + "/missing.crt", a.key_file},
        std::pair{a.cert_file, pki.dir() + "/missing.key"}, std::pair{a.ca_file, a.ca_file}}) {
    ServerOptions options;
    options.port = 0;
    options.tls = TlsOptions{"127.0.0.1", 0, cert, key};
    Result<std::unique_ptr<Server>> created = Server::Create(options, TrivialApp(counters));
    ASSERT_FALSE(created) << cert << " " << key;
    EXPECT_EQ(created.error().code, ErrorCode::kInvalidParameter);
  }
}

TEST(HttpsTls, ServerCertificateIsReusedAndReissuedWhenNamesChange) {
  TestPki pki;
  const pki::ServerCertificateFiles a = pki.Issue("a.test");
  EXPECT_TRUE(a.issued);
  struct stat st {};
  ASSERT_EQ(::stat(a.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const pki::ServerCertificateFiles again = pki.Issue("a.test");
  EXPECT_FALSE(again.issued);
  // Within 30 days of its expiry (397 days after issue) it is replaced.
  Result<std::unique_ptr<pki::BuiltinCa>> ca =
      pki::BuiltinCa::Open({pki.dir() + "/ca"}, TestPki::Now());
  ASSERT_TRUE(ca);
  const auto names = pki::ServerCertificateNames("127.0.0.1", {"a.test"});
  Result<pki::ServerCertificateFiles> early = pki::EnsureServerCertificate(
      **ca, pki.dir() + "/a.test", names, TestPki::Now() + 360 * 86400);
  ASSERT_TRUE(early);
  EXPECT_FALSE(early->issued);
  Result<pki::ServerCertificateFiles> late = pki::EnsureServerCertificate(
      **ca, pki.dir() + "/a.test", names, TestPki::Now() + 370 * 86400);
  ASSERT_TRUE(late);
  EXPECT_TRUE(late->issued);
  EXPECT_EQ(pki::ServerCertificateNames("0.0.0.0", {"x.test", "127.0.0.1"}),
            (std::vector<std::string>{"localhost", "127.0.0.1", "::1", "x.test"}));
}

}  // namespace
}  // namespace certplan::http
