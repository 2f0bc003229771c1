#include "http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/log.h"

namespace certplan::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace ssl = net::ssl;
using error_code = boost::system::error_code;

constexpr std::chrono::seconds kWriteTimeout{30};
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kLingerBytes = 16 * 1024 * 1024;

constexpr std::chrono::seconds kLogInterval{1};

// What a connection keeps of its last request's strings for the next one (see ToRpcRequest):
// an SDK's request fits.
constexpr size_t kKeptRequestBytes = 4 * 1024;

class SessionBase;

// The total of request-body bytes being received; see ServerOptions::body_budget_bytes.
class BodyBudget {
 public:
  void set_total(int64_t total) { total_ = total; }
  // Takes `n` bytes if they fit what is left.
  bool TryTake(int64_t n) {
    int64_t used = used_.load();
    do {
      if (n > total_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n));
    return true;
  }
  void Give(int64_t n) { used_.fetch_sub(n); }

 private:
  int64_t total_ = 0;
  std::atomic<int64_t> used_{0};
};

// A string body (like bhttp::string_body) that grows only as bytes arrive, each byte taken
// from the BodyBudget first: a Content-Length is a claim, not a reason to allocate.
struct BudgetBody {
  struct value_type {
    std::string text;
    BodyBudget* budget = nullptr;
    int64_t* held = nullptr;   // what the session holds of the budget for this body
    bool over_budget = false;  // set when put() failed for want of budget
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<uint64_t>&, error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      const size_t extra = net::buffer_size(buffers);
      const int64_t need = static_cast<int64_t>(body_.text.size() + extra);
      if (need > *body_.held) {
        if (!body_.budget->TryTake(need - *body_.held)) {
          body_.over_budget = true;
          ec = bhttp::error::buffer_overflow;
          return 0;
        }
        *body_.held = need;
      }
      ec = {};
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
           ++it) {
        const net::const_buffer b = *it;
        body_.text.append(static_cast<const char*>(b.data()), b.size());
      }
      return extra;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using Parser = bhttp::request_parser<BudgetBody>;

// At most one line per kLogInterval for an event that can repeat thousands of times a second;
// the line says how many were left out.
class Throttle {
 public:
  // True when a line may be written now; `skipped` gets how many were not since the last one.
  bool Allow(int64_t& skipped) {
    std::scoped_lock lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (written_ && now - last_ < kLogInterval) {
      ++skipped_;
      return false;
    }
    written_ = true;
    last_ = now;
    skipped = skipped_;
    skipped_ = 0;
    return true;
  }

 private:
  std::mutex mu_;
  bool written_ = false;                        // guarded by mu_
  std::chrono::steady_clock::time_point last_;  // guarded by mu_
  int64_t skipped_ = 0;                         // guarded by mu_
};

// What a session is doing, for choosing whom to shed.
enum class Phase {
  kWaiting,    // between requests, nothing of the next one received
  kReading,    // part of a request received
  kBusy,       // the application has the request, or the answer is being written
  kLingering,  // refused; reading and discarding until the client stops
};

// Every open connection, in the order accepted.
class Registry {
 public:
  using Handle = std::list<SessionBase*>::iterator;
  Handle Add(SessionBase* session) {
    std::scoped_lock lock(mu_);
    return sessions_.insert(sessions_.end(), session);
  }
  // `shed` says whether the session was chosen by Pick().
  void Remove(Handle handle, bool shed) {
    std::scoped_lock lock(mu_);
    sessions_.erase(handle);
    if (shed) --shedding_;
  }
  // Connections that are open and not on their way out.
  size_t active() const {
    std::scoped_lock lock(mu_);
    return sessions_.size() - shedding_;
  }
  // Undoes Pick() for a session that turned out busy.
  void Unmark(SessionBase& session);
  // Chooses the connection to close to make room, marks it and returns it (null if none):
  // the oldest that never completed a request (or is lingering), else the oldest idle one.
  std::shared_ptr<SessionBase> Pick();

 private:
  mutable std::mutex mu_;
  std::list<SessionBase*> sessions_;  // guarded by mu_
  size_t shedding_ = 0;               // guarded by mu_
};

// State every session shares with the server.
struct Shared {
  Application app;
  Limits limits;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> in_flight{0};
  BodyBudget budget;
  Registry registry;
  // More than one I/O thread: an answer is written on the thread that made it, as soon as it
  // is ready. Posted, its write would wake another idle thread to send it (a futex wake and a
  // context switch per request) while its own thread went idle.
  bool write_at_once = false;
};

// `out` = `s` in ASCII lower case (field names are tokens: ASCII only; std::tolower would ask
// the locale).
void AssignLower(std::string& out, std::string_view s) {
  out.assign(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
}

bool IsHeaderSpace(char c) { return c == ' ' || c == '\t'; }

// Splits a field value on commas, trimming optional whitespace; empty elements are skipped
// (RFC 9110 §5.6.1).
std::vector<std::string_view> ListElements(std::string_view value) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view item = value.substr(start, end - start);
    while (!item.empty() && IsHeaderSpace(item.front())) item.remove_prefix(1);
    while (!item.empty() && IsHeaderSpace(item.back())) item.remove_suffix(1);
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

// What the registry and the accept loop see of a connection, whatever its stream.
// `answer` as the bytes of an HTTP/1.x response (RFC 9112 §4, §6.3): status line, Server,
// Content-Type (when set), the answer's own headers in order (a name may repeat, e.g. Link),
// Content-Length (none for 1xx, 204 and 304, which carry no body), Connection when it differs
// from the version's default, then the body. One buffer, so one write per answer.
void Serialize(const rpc::Response& answer, bool keep_alive, unsigned version, std::string& out) {
  const bool bodiless =
      (answer.status >= 100 && answer.status < 200) || answer.status == 204 || answer.status == 304;
  out.clear();
  size_t size = 128 + answer.content_type.size() + answer.body.size();
  for (const auto& [name, value] : answer.headers) size += name.size() + value.size() + 4;
  out.reserve(size);
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(answer.status);
  out += ' ';
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(answer.status));
  out += "\r\nServer: certplan\r\n";
  if (!answer.content_type.empty()) {
    out += "Content-Type: ";
    out += answer.content_type;
    out += "\r\n";
  }
  for (const auto& [name, value] : answer.headers) {
    out += name;
    out += ": ";
    // A value is never allowed to end the header early (response splitting).
    for (char c : value) out += (c == '\r' || c == '\n') ? ' ' : c;
    out += "\r\n";
  }
  if (!bodiless) {
    out += "Content-Length: ";
    out += std::to_string(answer.body.size());
    out += "\r\n";
  }
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!bodiless) out += answer.body;
}

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  explicit SessionBase(Shared& shared) : shared_(shared), handle_(shared.registry.Add(this)) {}
  virtual ~SessionBase() { shared_.registry.Remove(handle_, shed_.load()); }

  virtual void Start() = 0;

  // Registry::Pick reads these from other threads.
  Phase phase() const { return phase_.load(); }
  bool completed_any() const { return completed_any_.load(); }
  // Marks the session chosen for shedding; false if another Pick() chose it already. Called
  // with the registry's mutex held, as is UnmarkShed().
  bool MarkShed() { return !shed_.exchange(true); }
  void UnmarkShed() { shed_ = false; }

  // Closes the connection to make room unless it became busy meanwhile; then runs `then`.
  // Thread-safe.
  virtual void Shed(std::function<void()> then) = 0;

 protected:
  Shared& shared_;
  Registry::Handle handle_;
  std::atomic<Phase> phase_{Phase::kWaiting};
  std::atomic<bool> completed_any_{false};
  std::atomic<bool> shed_{false};
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection over `Stream` (PlainStream or TlsStream): both share every limit, deadline,
// the cap and the body budget; a TLS one first completes its handshake within
// limits.handshake_timeout.
template <typename Stream>
class Session : public SessionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `context`: the TLS configuration (held for the connection's life); null for plain HTTP.
  Session(tcp::socket&& socket, Shared& shared, std::shared_ptr<ssl::context> context)
      : SessionBase(shared),
        context_(std::move(context)),
        stream_(MakeStream(std::move(socket), context_.get())),
        timer_(stream_.get_executor()) {}

  ~Session() override { ReleaseBody(); }

  void Start() override {
    if constexpr (!kTls) {
      // Send() tries one non-blocking send before going asynchronous.
      error_code ec;
      socket().non_blocking(true, ec);
      sync_write_ = !ec;
    }
    if constexpr (kTls) {
      net::dispatch(stream_.get_executor(), [self = Self()] { self->Handshake(); });
    } else {
      net::dispatch(stream_.get_executor(), [self = Self()] { self->ReadRequest(); });
    }
  }

  void Shed(std::function<void()> then) override {
    net::dispatch(stream_.get_executor(), [self = Self(), then = std::move(then)] {
      if (self->phase() != Phase::kBusy) {
        self->Close();
      } else {
        self->shared_.registry.Unmark(*self);  // it is earning its place after all
      }
      if (then) then();
    });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ssl::context* context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // TLS only: the handshake, bounded by its own deadline. Until it completes the connection
  // has completed no request (phase kWaiting), so the cap may shed it.
  void Handshake() {
    SetDeadline(Deadline::kHandshake, shared_.limits.handshake_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](error_code ec) {
        self->ClearDeadline();
        if (ec) return self->Close();
        self->ReadRequest();
      });
    }
  }

  // One read of whatever has arrived (the plain socket bypasses tcp_stream's own timeout).
  template <typename Buffers, typename Handler>
  void ReadSome(const Buffers& buffers, Handler&& handler) {
    if constexpr (kTls) {
      stream_.async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      stream_.socket().async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_.limits.header_bytes));
    parser_->body_limit(shared_.limits.body_bytes);
    parser_->get().body().budget = &shared_.budget;
    parser_->get().body().held = &body_held_;
    scanned_ = 0;
    phase_ = buffer_.size() > 0 ? Phase::kReading : Phase::kWaiting;
    timed_out_ = false;
    // One deadline for the whole request (a slow body cannot keep the connection forever);
    // on expiry we cancel the read and still answer 408, unlike tcp_stream's own timeout.
    SetDeadline(Deadline::kRead, shared_.limits.read_timeout);
    ScanHeader();
  }

  // Reads until the buffer holds the whole header, checking the line endings byte by byte as
  // they arrive (Beast would accept obs-fold, and we want a bare LF refused at once, not after
  // the read timeout), then hands the header to Beast.
  void ScanHeader() {
    const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    size_t i = scanned_;
    for (; i < data.size(); ++i) {
      const char c = data[i];
      // Every byte the checks below look for (CR, LF, SP, HTAB, NUL) is at most SP.
      if (static_cast<unsigned char>(c) > ' ') continue;
      if (c == '\r') {
        if (i + 1 == data.size()) break;  // its LF has not arrived yet
        if (data[i + 1] != '\n') return RefuseFraming("a bare CR");
      } else if (c == '\n') {
        if (i == 0 || data[i - 1] != '\r') return RefuseFraming("a bare LF");
        if (i >= 3 && data.substr(i - 3, 4) == "\r\n\r\n") return ParseHeader(i + 1);
      } else if (IsHeaderSpace(c) && i > 0 && data[i - 1] == '\n') {
        // RFC 9112 §5.2: a server may unfold obs-fold or reject it; an intermediary may do the
        // other, so we reject.
        return RefuseFraming("a folded header line (obs-fold)");
      } else if (c == '\0') {
        return RefuseFraming("a NUL byte in the header");
      }
    }
    scanned_ = i;
    if (data.size() >= shared_.limits.header_bytes) {
      return Refuse(
          Error(ErrorCode::kHeaderTooLarge, "The request line and headers exceed the size limit."));
    }
    const size_t want = std::min(beast::read_size(buffer_, 16 * 1024),
                                 shared_.limits.header_bytes + 1 - buffer_.size());
    ReadSome(buffer_.prepare(want), [self = Self()](error_code ec, size_t n) {
      self->buffer_.commit(n);
      if (ec) return self->OnReadError(ec);
      self->phase_ = Phase::kReading;
      self->ScanHeader();
    });
  }

  void ParseHeader(size_t header_size) {
    error_code ec;
    const size_t used = parser_->put(net::buffer(buffer_.data().data(), header_size), ec);
    buffer_.consume(used);
    if (ec) return OnReadError(ec);
    if (!parser_->is_header_done()) return RefuseFraming("an incomplete header");
    if (std::optional<std::string> why = FramingProblem()) return RefuseFraming(*why);
    if (const boost::optional<uint64_t> length = parser_->content_length(); length && *length) {
      const int64_t n = static_cast<int64_t>(*length);
      if (!shared_.budget.TryTake(n)) return RefuseBudget();
      body_held_ = n;
    }
    if (parser_->is_done()) return OnRead({}, 0);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, Self()));
  }

  // What Beast lets through that makes the body's length ambiguous (RFC 9112 §6.1, §6.3) or
  // the request's host (§3.2); nullopt when the header is sound.
  std::optional<std::string> FramingProblem() {
    const auto& req = parser_->get();
    std::vector<std::string_view> codings;
    bool has_te = false;
    const auto [first, last] = req.equal_range(bhttp::field::transfer_encoding);
    for (auto it = first; it != last; ++it) {
      has_te = true;
      for (std::string_view c : ListElements(it->value())) codings.push_back(c);
    }
    if (has_te) {
      if (req.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
      if (req.count(bhttp::field::content_length) > 0) {
        return "both Transfer-Encoding and Content-Length";
      }
      if (codings.size() != 1 || !beast::iequals(codings[0], "chunked")) {
        return "a Transfer-Encoding other than chunked";
      }
    }
    if (req.count(bhttp::field::content_length) > 1 ||
        (req.count(bhttp::field::content_length) == 1 &&
         req[bhttp::field::content_length].find(',') != std::string_view::npos)) {
      return "more than one Content-Length";
    }
    if (req.count(bhttp::field::host) > 1) return "more than one Host";
    return std::nullopt;
  }

  void RefuseFraming(std::string_view why) {
    Refuse(Error(ErrorCode::kBadRequest,
                 "The request is not valid HTTP/1.1: " + std::string(why) + "."));
  }

  void RefuseBudget() {
    Refuse(Error(ErrorCode::kServiceUnavailable,
                 "The server is receiving too many request bodies at once; retry later."));
  }

  void OnRead(error_code ec, size_t) {
    ClearDeadline();
    if (ec) return OnReadError(ec);
    phase_ = Phase::kBusy;
    shared_.in_flight.fetch_add(1);
    bhttp::request<BudgetBody> req = parser_->release();
    rpc::Response answer = shared_.app.handle(ToRpcRequest(req));
    ReleaseRequest();
    shared_.in_flight.fetch_sub(1);
    ReleaseBody();
    completed_any_ = true;
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
        ec == net::error::connection_reset || ec == net::error::eof || !socket().is_open()) {
      return Close();
    }
    if constexpr (kTls) {
      // A TLS failure (a truncated stream, a refused renegotiation, a bad record) leaves
      // nothing to answer on.
      if (ec.category() == net::error::get_ssl_category() ||
          ec.category() == ssl::error::get_stream_category()) {
        return Close();
      }
    }
    if (ec == bhttp::error::header_limit) {
      return Refuse(
          Error(ErrorCode::kHeaderTooLarge, "The request line and headers exceed the size limit."));
    }
    if (ec == bhttp::error::body_limit) {
      return Refuse(Error(ErrorCode::kBodyTooLarge, "The request body exceeds the size limit."));
    }
    if (parser_->get().body().over_budget) return RefuseBudget();
    Refuse(Error(ErrorCode::kBadRequest, "The request is not valid HTTP/1.1: " + ec.message()));
  }

  // The request as the application sees it, in request_: its strings keep their capacity
  // from one request to the next, so a connection's steady state copies without allocating.
  const rpc::Request& ToRpcRequest(bhttp::request<BudgetBody>& req) {
    rpc::Request& out = request_;
    out.method.assign(req.method_string());
    std::string_view target = req.target();
    const size_t q = target.find('?');
    out.path.assign(target.substr(0, q));
    if (q != std::string_view::npos) {
      out.query.assign(target.substr(q + 1));
    } else {
      out.query.clear();
    }
    size_t n = 0;
    for (const auto& field : req) {
      (void)field;
      ++n;
    }
    // Never more entries kept than this request has (a large request's header count is not
    // held for the life of the connection beyond its strings' capacity).
    out.headers.resize(n);
    size_t i = 0;
    for (const auto& field : req) {
      auto& [name, value] = out.headers[i++];
      AssignLower(name, field.name_string());
      value.assign(field.value());
    }
    out.body = std::move(req.body().text);
    out.peer_ip = PeerIp();
    out.secure = kTls;  // RAM's acs:SecureTransport
    return out;
  }

  // After the answer: a body's bytes are never held past its request, and the other strings
  // only up to kKeptRequestBytes (a large request's capacity is given back).
  void ReleaseRequest() {
    request_.body = std::string();
    size_t held = request_.method.capacity() + request_.path.capacity() +
                  request_.query.capacity() +
                  request_.headers.capacity() * sizeof(request_.headers[0]);
    for (const auto& [name, value] : request_.headers) held += name.capacity() + value.capacity();
    if (held > kKeptRequestBytes) request_ = rpc::Request();
  }

  // The TCP peer's address, asked of the kernel once per connection (it cannot change).
  const std::string& PeerIp() {
    if (!peer_ip_known_) {
      error_code ec;
      const tcp::endpoint peer = socket().remote_endpoint(ec);
      if (!ec) peer_ip_ = peer.address().to_string();
      peer_ip_known_ = true;
    }
    return peer_ip_;
  }

  void ReleaseBody() {
    if (body_held_ > 0) shared_.budget.Give(body_held_);
    body_held_ = 0;
  }

  void Refuse(const Error& error) {
    ClearDeadline();
    ReleaseBody();
    refused_ = true;
    phase_ = Phase::kBusy;
    Send(shared_.app.refuse(error), /*keep_alive=*/false, 11);
  }

  void Send(rpc::Response answer, bool keep_alive, unsigned version) {
    phase_ = Phase::kBusy;
    Serialize(answer, keep_alive, version, out_);
    auto write = [self = Self(), keep_alive] {
      if constexpr (!kTls) {
        if (self->sync_write_) return self->WriteNow(keep_alive);
      }
      self->WriteAsync(keep_alive);
    };
    // With one thread, the write waits behind the handlers already queued (the other requests
    // that arrived with this one), so the answers to one batch leave back to back: a client is
    // woken once for the batch rather than once for each answer, which cost more CPU than the
    // answer. With more, it runs here (this handler is on the connection's strand already) —
    // unless pipelined bytes wait in the buffer: the write's completion reads the next request
    // at once, so running it here would nest every buffered request inside the one before
    // (hundreds deep on one thread's stack).
    if (shared_.write_at_once && buffer_.size() == 0) {
      return net::dispatch(stream_.get_executor(), std::move(write));
    }
    net::post(stream_.get_executor(), std::move(write));
  }

  // Plain HTTP: most answers fit the socket's send buffer, so one non-blocking send finishes
  // the write without the asynchronous machinery.
  void WriteNow(bool keep_alive) {
    error_code ec;
    const size_t n = socket().write_some(net::buffer(out_), ec);
    if (!ec && n == out_.size()) return OnWrite({}, keep_alive);
    if (ec && ec != net::error::would_block && ec != net::error::try_again) {
      return OnWrite(ec, keep_alive);
    }
    out_.erase(0, ec ? 0 : n);
    WriteAsync(keep_alive);
  }

  void WriteAsync(bool keep_alive) {
    SetDeadline(Deadline::kWrite, kWriteTimeout);
    auto done = [self = Self(), keep_alive](error_code ec, size_t) {
      self->ClearDeadline();
      self->OnWrite(ec, keep_alive);
    };
    if constexpr (kTls) {
      net::async_write(stream_, net::buffer(out_), std::move(done));
    } else {
      net::async_write(socket(), net::buffer(out_), std::move(done));
    }
  }

  void OnWrite(error_code ec, bool keep_alive) {
    if (!ec && refused_) return Linger();
    if (ec || !keep_alive) return Close();
    // The next request is here already; or, with more than one thread, a post would wake
    // another idle thread (the write-at-once case above), dearer than a recv finding nothing.
    if (buffer_.size() > 0 || shared_.write_at_once) return ReadRequest();
    // With one thread the client has only just been sent its answer, so a read now would find
    // nothing and cost a failed recv. It waits behind the handlers already queued (the other
    // answers of this batch), by when the next request has usually arrived.
    net::post(stream_.get_executor(), [self = Self()] { self->ReadRequest(); });
  }

  // The session's one timer serves the handshake, request and write deadlines. Arming and
  // cancelling a timer for every request cost more than parsing one, so the timer is left
  // running: a new deadline only moves deadline_, and an expiry that finds the deadline later
  // than itself waits again for the rest. Only an earlier deadline than the one the timer
  // waits for re-arms it.
  enum class Deadline { kNone, kHandshake, kRead, kWrite };

  void SetDeadline(Deadline kind, std::chrono::steady_clock::duration after) {
    deadline_kind_ = kind;
    deadline_ = std::chrono::steady_clock::now() + after;
    if (deadline_ < timer_expiry_) ArmTimer();
  }

  void ClearDeadline() { deadline_kind_ = Deadline::kNone; }

  void ArmTimer() {
    timer_expiry_ = deadline_;
    timer_.expires_at(deadline_);  // a wait already pending ends with operation_aborted
    timer_.async_wait([self = Self()](error_code ec) { self->OnTimer(ec); });
  }

  void OnTimer(error_code ec) {
    // Cancelled: re-armed for an earlier deadline (that wait is pending), or closing.
    if (ec) return;
    timer_expiry_ = std::chrono::steady_clock::time_point::max();
    if (deadline_kind_ == Deadline::kNone || !socket().is_open()) return;
    if (std::chrono::steady_clock::now() < deadline_) return ArmTimer();
    const Deadline expired = deadline_kind_;
    deadline_kind_ = Deadline::kNone;
    if (expired == Deadline::kRead) timed_out_ = true;
    // The pending handshake, read or write ends with operation_aborted: a stalled read still
    // gets its 408 (OnReadError), a stalled handshake or write closes the connection.
    error_code ignored;
    socket().cancel(ignored);
  }

  // After refusing a request the client may still be sending (a 2 MiB body, say). Closing now
  // would reset the connection and destroy our answer in its receive buffer, so we stop
  // writing and read-and-discard for a bounded time and amount first ("lingering close").
  void Linger() {
    phase_ = Phase::kLingering;
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    discard_ = std::make_unique<std::array<char, 16 * 1024>>();
    lowest().expires_after(kLingerTime);
    Discard(0);
  }

  void Discard(size_t total) {
    stream_.async_read_some(net::buffer(*discard_),
                            [self = Self(), total](error_code ec, size_t n) {
                              if (ec || total + n > kLingerBytes) return self->Close();
                              self->Discard(total + n);
                            });
  }

  void Close() {
    ClearDeadline();
    timer_.cancel();
    ReleaseBody();
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    socket().close(ignored);
  }

  std::shared_ptr<ssl::context> context_;  // declared before stream_, which refers to it
  Stream stream_;
  net::steady_timer timer_;
  Deadline deadline_kind_ = Deadline::kNone;
  std::chrono::steady_clock::time_point deadline_;
  // When the pending wait of timer_ ends; max() when none is pending.
  std::chrono::steady_clock::time_point timer_expiry_ =
      std::chrono::steady_clock::time_point::max();
  rpc::Request request_;     // see ToRpcRequest
  std::string out_;          // the answer being written (its capacity is kept for the next one)
  bool sync_write_ = false;  // the socket is non-blocking: Send() may write synchronously
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  size_t scanned_ = 0;     // bytes of the buffered header whose line endings were checked
  int64_t body_held_ = 0;  // bytes of the BodyBudget held for the current body
  bool timed_out_ = false;
  bool refused_ = false;
  bool peer_ip_known_ = false;
  std::string peer_ip_;
  std::unique_ptr<std::array<char, 16 * 1024>> discard_;  // only while lingering
};

void Registry::Unmark(SessionBase& session) {
  std::scoped_lock lock(mu_);
  session.UnmarkShed();
  --shedding_;
}

std::shared_ptr<SessionBase> Registry::Pick() {
  // Owners taken but not chosen are dropped after mu_ is released: if one is the last owner,
  // the session's destructor takes mu_.
  std::vector<std::shared_ptr<SessionBase>> passed;
  std::scoped_lock lock(mu_);
  // A session whose destructor waits for mu_ has no owner left: weak_from_this() is empty.
  auto take = [&](SessionBase* s) -> std::shared_ptr<SessionBase> {
    std::shared_ptr<SessionBase> owned = s->weak_from_this().lock();
    if (!owned) return nullptr;
    if (!owned->MarkShed()) {
      passed.push_back(std::move(owned));
      return nullptr;
    }
    ++shedding_;
    return owned;
  };
  for (SessionBase* s : sessions_) {
    const Phase phase = s->phase();
    const bool never_completed = !s->completed_any() && phase != Phase::kBusy;
    if (never_completed || phase == Phase::kLingering) {
      if (std::shared_ptr<SessionBase> owned = take(s)) return owned;
    }
  }
  for (SessionBase* s : sessions_) {
    if (s->phase() == Phase::kWaiting) {
      if (std::shared_ptr<SessionBase> owned = take(s)) return owned;
    }
  }
  return nullptr;
}

// TLS 1.2's ciphers: forward secrecy and AEAD only (TLS 1.3's suites are OpenSSL's defaults,
// all of them AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// A server context from the PEM files: TLS 1.2 and 1.3 only, no renegotiation, no compression.
// Uses Asio's SSL wrapper (its header brings OpenSSL's declarations).
Result<std::shared_ptr<ssl::context>> LoadTlsContext(const TlsOptions& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return InvalidParameter("tls", "a certificate file and a key file are both required.");
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                           ssl::context::single_dh_use,
                       ec);
  if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    return InternalError("cannot configure TLS");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  context->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) {
    return InvalidParameter(
        "tls_cert", "cannot load the certificate chain " + tls.cert_file + ": " + ec.message());
  }
  context->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) {
    return InvalidParameter("tls_key",
                            "cannot load the private key " + tls.key_file + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return InvalidParameter("tls_key", "the private key does not match the certificate.");
  }
  return context;
}

// One listening socket and the accept loop's backoff timer (on the acceptor's strand).
struct Listener {
  Listener(net::io_context& ioc, bool is_tls)
      : acceptor(net::make_strand(ioc)), timer(acceptor.get_executor()), tls(is_tls) {}
  tcp::acceptor acceptor;
  net::steady_timer timer;
  bool tls;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Shared shared;
  net::io_context ioc;
  Listener plain;
  std::unique_ptr<Listener> secure;  // with options.tls
  net::signal_set signals;
  net::signal_set reload_signals;  // SIGHUP, with options.tls; on its own strand
  net::steady_timer drain_timer;
  std::chrono::steady_clock::time_point drain_deadline;
  Throttle accept_failures;
  Throttle sheds;
  bool listening = false;  // set by Listen(), before Run() starts the threads
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls_context;  // guarded by tls_mu; replaced whole by ReloadTls

  Impl(ServerOptions opts, Application app, int threads)
      : options(std::move(opts)),
        ioc(threads),
        plain(ioc, false),
        signals(ioc, SIGINT, SIGTERM),
        reload_signals(net::make_strand(ioc)),
        drain_timer(ioc) {
    shared.app = std::move(app);
    shared.limits = options.limits;
    shared.write_at_once = threads > 1;
    shared.budget.set_total(static_cast<int64_t>(options.body_budget_bytes));
    if (options.tls) secure = std::make_unique<Listener>(ioc, true);
  }

  std::shared_ptr<ssl::context> TlsContext() {
    std::scoped_lock lock(tls_mu);
    return tls_context;
  }

  // Where a new connection's handlers run: a strand of its own, or, with one thread, the
  // io_context itself (one thread runs every handler in turn already; a strand would only add
  // a lock and a queue to each one).
  net::any_io_executor SessionExecutor() {
    if (options.threads == 1) return ioc.get_executor();
    return net::make_strand(ioc);
  }

  void Accept(Listener& l) {
    if (!l.acceptor.is_open()) return;
    l.acceptor.async_accept(SessionExecutor(), [this, &l](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !l.acceptor.is_open()) return;
      if (ec) return OnAcceptError(l, ec);
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (shared.registry.active() >= options.max_connections) {
        // At the cap: make room by closing a connection that has not earned its place, or
        // turn the new one away when every connection is busy.
        std::shared_ptr<SessionBase> victim = shared.registry.Pick();
        LogShed(victim != nullptr, "max_connections");
        if (victim) {
          victim->Shed(nullptr);
        } else {
          socket.close(ignored);
          return Accept(l);
        }
      }
      if (l.tls) {
        std::make_shared<Session<TlsStream>>(std::move(socket), shared, TlsContext())->Start();
      } else {
        std::make_shared<Session<PlainStream>>(std::move(socket), shared, nullptr)->Start();
      }
      Accept(l);
    });
  }

  void OnAcceptError(Listener& l, error_code ec) {
    int64_t skipped = 0;
    if (accept_failures.Allow(skipped)) {
      log::Line(log::Level::kWarn, "accept failed")
          .Str("error", ec.message())
          .Int("failures_not_logged", skipped)
          .Write();
    }
    if (ec == net::error::connection_aborted) return Accept(l);  // that client gave up; next
    const bool out_of_descriptors = ec == net::error::no_descriptors || ec.value() == ENFILE ||
                                    ec == net::error::no_buffer_space ||
                                    ec == net::error::no_memory;
    if (out_of_descriptors) {
      // Free a descriptor by shedding a connection, and try again once it is closed.
      if (std::shared_ptr<SessionBase> victim = shared.registry.Pick()) {
        LogShed(true, "descriptors");
        victim->Shed(
            [this, &l] { net::post(l.acceptor.get_executor(), [this, &l] { Accept(l); }); });
        return;
      }
    }
    // Nothing to free: retrying at once would spin (the pending connection stays queued).
    l.timer.expires_after(kAcceptBackoff);
    l.timer.async_wait([this, &l](error_code wait_ec) {
      if (!wait_ec) Accept(l);
    });
  }

  // `shed`: a connection was closed to make room (else the new one was refused); `reason`:
  // what ran out.
  void LogShed(bool shed, std::string_view reason) {
    int64_t skipped = 0;
    if (!sheds.Allow(skipped)) return;
    log::Line(log::Level::kWarn,
              shed ? "closing a connection to make room" : "refusing a connection")
        .Str("reason", reason)
        .Int("max_connections", static_cast<int64_t>(options.max_connections))
        .Int("events_not_logged", skipped)
        .Write();
  }

  void WaitForReload() {
    reload_signals.async_wait([this](error_code ec, int) {
      if (ec) return;
      if (Status s = Reload(); !s) {
        log::Line(log::Level::kError, "TLS certificate not reloaded; the old one stays in use")
            .Str("error", s.error().message)
            .Write();
      } else {
        log::Line(log::Level::kInfo, "TLS certificate reloaded")
            .Str("cert_file", options.tls->cert_file)
            .Write();
      }
      WaitForReload();
    });
  }

  Status Reload() {
    Result<std::shared_ptr<ssl::context>> loaded = LoadTlsContext(*options.tls);
    if (!loaded) return loaded.error();
    std::scoped_lock lock(tls_mu);
    tls_context = std::move(*loaded);
    return Ok{};
  }

  void CloseListener(Listener& l) {
    net::post(l.acceptor.get_executor(), [&l] {
      error_code ignored;
      l.acceptor.close(ignored);
      l.timer.cancel();
    });
  }

  void BeginDrain() {
    if (shared.draining.exchange(true)) return;
    log::Info("draining");
    CloseListener(plain);
    if (secure) CloseListener(*secure);
    net::post(reload_signals.get_executor(), [this] {
      error_code ignored;
      reload_signals.cancel(ignored);
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

namespace {

// Raises the soft descriptor limit to the hard one where allowed; returns the soft limit in
// force.
uint64_t RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0 && limit.rlim_max == RLIM_INFINITY) {
      // An unlimited hard limit is still bounded by the kernel's nr_open (2^20 by default).
      raised.rlim_cur = std::max<rlim_t>(limit.rlim_cur, 1 << 20);
      setrlimit(RLIMIT_NOFILE, &raised);
    }
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : limit.rlim_cur;
}

Status Bind(Listener& l, const std::string& host, uint16_t port, std::string_view key) {
  error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) return InvalidParameter(key, "\"" + host + "\" is not an IP address.");
  const tcp::endpoint endpoint(address, port);
  l.acceptor.open(endpoint.protocol(), ec);
  if (!ec) l.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) l.acceptor.bind(endpoint, ec);
  if (ec) {
    return Error(ErrorCode::kServiceUnavailable,
                 "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  return Ok{};
}

std::string BoundAddress(const Listener& l) {
  error_code ec;
  const tcp::endpoint ep = l.acceptor.local_endpoint(ec);
  if (ec) return {};
  const std::string host =
      ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  return host + ":" + std::to_string(ep.port());
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options, Application app) {
  if (options.body_budget_bytes < options.limits.body_bytes) {
    return InvalidParameter("body_budget_bytes", "must be at least the body size limit.");
  }
  // The store, the log, DNS lookups and the runtime need descriptors besides connections.
  const uint64_t descriptors = RaiseDescriptorLimit();
  const uint64_t headroom = std::max<uint64_t>(64, descriptors / 8);
  const uint64_t fits = descriptors > headroom + 1 ? descriptors - headroom : 1;
  if (options.max_connections > fits) {
    log::Line(log::Level::kWarn, "max_connections lowered to fit the descriptor limit")
        .Int("configured", static_cast<int64_t>(options.max_connections))
        .Int("max_connections", static_cast<int64_t>(fits))
        .Int("descriptor_limit", static_cast<int64_t>(descriptors))
        .Write();
    options.max_connections = fits;
  }
  if (options.max_connections == 0) options.max_connections = 1;
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.threads = threads;
  auto impl = std::make_unique<Impl>(std::move(options), std::move(app), threads);
  if (impl->options.tls) {
    Result<std::shared_ptr<ssl::context>> context = LoadTlsContext(*impl->options.tls);
    if (!context) return context.error();
    impl->tls_context = std::move(*context);
  }
  if (Status s = Bind(impl->plain, impl->options.host, impl->options.port, "listen"); !s) {
    return s.error();
  }
  if (impl->secure) {
    if (Status s =
            Bind(*impl->secure, impl->options.tls->host, impl->options.tls->port, "listen_tls");
        !s) {
      return s.error();
    }
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::Listen() {
  if (impl_->listening) return Ok{};
  error_code ec;
  impl_->plain.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kServiceUnavailable,
                 "cannot listen on " + address() + ": " + ec.message());
  }
  if (impl_->secure) {
    impl_->secure->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error(ErrorCode::kServiceUnavailable,
                   "cannot listen on " + tls_address() + ": " + ec.message());
    }
  }
  impl_->listening = true;
  return Ok{};
}

size_t Server::max_connections() const { return impl_->options.max_connections; }

std::string Server::address() const { return BoundAddress(impl_->plain); }

std::string Server::tls_address() const {
  return impl_->secure ? BoundAddress(*impl_->secure) : std::string();
}

Status Server::ReloadTls() {
  if (!impl_->options.tls) return InvalidParameter("tls", "this server does not serve HTTPS.");
  return impl_->Reload();
}

void Server::Run() {
  Impl& impl = *impl_;
  if (Status s = Listen(); !s) {
    log::Line(log::Level::kError, s.error().message).Write();
    return;
  }
  impl.signals.async_wait([&impl](error_code ec, int) {
    if (!ec) impl.BeginDrain();
  });
  impl.Accept(impl.plain);
  if (impl.secure) {
    impl.Accept(*impl.secure);
    error_code ec;
    impl.reload_signals.add(SIGHUP, ec);
    if (!ec) impl.WaitForReload();
  }
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
