// certplan's load generator: N keep-alive connections on one Asio thread, each sending the next
// request as soon as the previous answer arrived, for a fixed time. Every request to certplan
// carries its own ACS3-HMAC-SHA256 signature and nonce, as a real client's does; they are all
// signed BEFORE the timed window (a pool of --requests serialized requests, each with a fresh
// nonce and a current timestamp), so the load loop only writes bytes and parses answers, and the
// generator's ceiling is that of a plain HTTP client (bench/run.sh checks it against wrk on the
// same nginx). A run ends at --seconds or when the pool is used up, whichever comes first; the
// figures are over the time actually run ("pool_exhausted": true says the pool ended it).
// Against nginx the same headers are sent and ignored, so the ratio isolates server cost.
// Prints one JSON object: throughput and latency percentiles.
//
//   loadgen --target 127.0.0.1:8080 --connections 64 --seconds 10 --action DescribePackageState
//           --key LTAI… --secret … [--query ProductCode=…] [--path /]
//           [--requests N]                     size of the pre-signed pool (default: 100,000
//                                              per second of --seconds, at most 3,000,000)
//           [--dump FILE]                      write the pre-signed pool to FILE (requests separated
//                                              by a NUL byte) and exit: what bench/presigned.lua
//                                              replays through wrk (HTTPS, where loadgen has no TLS)
//           [--body-file F --content-type T]   POST F's bytes (peers such as cfssl; no signature)
//           [--drain-query ProductCode=…]      afterwards, poll DescribePackageState until
//                                              IssuedCount reaches UsedCount: issuance measured
//                                              to the issued certificate (issued_per_s)
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>  // before Boost 1.74 Asio, whose awaitable.hpp needs std::exchange
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  int connections = 64;
  double seconds = 10;
  std::string action = "DescribePackageState";
  std::string key, secret;
  std::string query;  // already canonical: sorted, RFC 3986 encoded
  std::string path = "/";
  bool unique_domain = false;  // append a per-request Domain (write benchmarks)
  std::string body;            // non-empty: POSTed as is, with content_type
  std::string content_type;
  std::string drain_query;  // non-empty: wait for issuance of what was created
  double drain_limit_seconds = 120;
  size_t requests = 0;  // pre-signed pool size; 0: from seconds
  std::string dump;     // non-empty: write the pool here and exit
};

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

std::string Sha256Hex(const std::string& s) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

std::string IsoNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

constexpr const char* kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A signed request exactly as @alicloud/cas20200407 sends it (spec §1.3).
using Request = http::request<http::string_body>;

Request SignedRequest(const Options& o, uint64_t seq) {
  unsigned char raw[16];
  RAND_bytes(raw, sizeof raw);
  const std::string nonce = Hex(raw, sizeof raw);
  const std::string date = IsoNow();
  const std::string host = o.host + ":" + o.port;
  std::string query = o.query;
  if (o.unique_domain) {
    std::string domain =
        "Domain=n" + std::to_string(seq) + "-" + nonce.substr(0, 8) + ".example.com";
    query = domain + (query.empty() ? "" : "&" + query);  // "Domain" sorts before the rest we use
  }
  if (!o.body.empty()) {  // a peer's own API: its body, no signature
    Request req{http::verb::post, o.path, 11};
    req.set(http::field::host, host);
    req.set(http::field::content_type, o.content_type);
    req.body() = o.body;
    req.prepare_payload();
    req.keep_alive(true);
    return req;
  }
  const std::string canonical =
      "POST\n/\n" + query + "\nhost:" + host + "\nx-acs-action:" + o.action +
      "\nx-acs-content-sha256:" + kEmptyHash + "\nx-acs-date:" + date +
      "\nx-acs-signature-nonce:" + nonce + "\nx-acs-version:2020-04-07\n\n" +
      "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n" +
      kEmptyHash;
  const std::string to_sign = "ACS3-HMAC-SHA256\n" + Sha256Hex(canonical);
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), o.secret.data(), static_cast<int>(o.secret.size()),
       reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac, &mac_len);
  Request req{http::verb::post, o.path + (query.empty() ? "" : "?" + query), 11};
  req.set(http::field::host, host);
  req.set("x-acs-action", o.action);
  req.set("x-acs-version", "2020-04-07");
  req.set("x-acs-date", date);
  req.set("x-acs-signature-nonce", nonce);
  req.set("x-acs-content-sha256", kEmptyHash);
  req.set(http::field::authorization,
          "ACS3-HMAC-SHA256 Credential=" + o.key +
              ",SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
              "x-acs-signature-nonce;x-acs-version,Signature=" +
              Hex(mac, mac_len));
  req.prepare_payload();
  req.keep_alive(true);
  return req;
}

struct Stats {
  std::vector<uint32_t> latencies_us;
  uint64_t ok = 0, errors = 0, connect_failures = 0;
  bool pool_exhausted = false;
  Clock::time_point last_answer{};
};

// The framing of one HTTP/1.1 answer at the start of `data` (a minimal reader for the load loop:
// status line, Content-Length or chunked body, Connection: close), so the loop does not pay for
// a general-purpose parser and its allocations. `complete` is false while more bytes are needed.
struct Framing {
  bool complete = false;
  bool malformed = false;
  unsigned status = 0;
  bool close = false;
  size_t header_end = 0;  // first byte of the body
  size_t length = 0;      // header + body bytes of the whole answer
};

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

Framing Frame(std::string_view data) {
  Framing f;
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return f;
  f.header_end = end + 4;
  if (data.size() < 12 || data.substr(0, 5) != "HTTP/") {
    f.malformed = true;
    return f;
  }
  f.status = static_cast<unsigned>(std::atoi(std::string(data.substr(9, 3)).c_str()));
  bool chunked = false;
  long long content_length = -1;
  for (size_t at = data.find("\r\n") + 2; at < end;) {
    const size_t eol = data.find("\r\n", at);
    const std::string_view line = data.substr(at, eol - at);
    if (StartsWithNoCase(line, "content-length:")) {
      content_length = std::atoll(std::string(line.substr(15)).c_str());
    } else if (StartsWithNoCase(line, "transfer-encoding:")) {
      chunked = line.find("chunked") != std::string_view::npos;
    } else if (StartsWithNoCase(line, "connection:")) {
      f.close = line.find("close") != std::string_view::npos;
    }
    at = eol + 2;
  }
  if (!chunked) {
    if (content_length < 0) content_length = 0;
    f.length = f.header_end + static_cast<size_t>(content_length);
    f.complete = data.size() >= f.length;
    return f;
  }
  for (size_t at = f.header_end;;) {  // chunk-size CRLF data CRLF …, then 0 CRLF CRLF
    const size_t eol = data.find("\r\n", at);
    if (eol == std::string_view::npos) return f;
    const size_t size = std::strtoull(std::string(data.substr(at, eol - at)).c_str(), nullptr, 16);
    if (size == 0) {
      f.length = eol + 4;
      f.complete = data.size() >= f.length;
      return f;
    }
    at = eol + 2 + size + 2;
    if (at > data.size()) return f;
  }
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& ioc, const std::vector<std::string>& pool,
             const tcp::resolver::results_type& ep, Clock::time_point deadline, Stats& stats,
             size_t& next)
      : socket_(ioc),
        pool_(pool),
        endpoints_(ep),
        deadline_(deadline),
        stats_(stats),
        next_(next),
        buffer_(16 * 1024) {}

  void Start() {
    net::async_connect(socket_, endpoints_,
                       [self = shared_from_this()](beast::error_code ec, auto) {
                         if (ec) {
                           ++self->stats_.connect_failures;
                           return;
                         }
                         self->socket_.set_option(tcp::no_delay(true));
                         self->Send();
                       });
  }

 private:
  void Send() {
    if (Clock::now() >= deadline_) return;
    // A peer's own API (one body, no signature) repeats its one request.
    const size_t index = pool_.size() == 1 ? 0 : next_++;
    if (index >= pool_.size()) {
      stats_.pool_exhausted = true;
      return;
    }
    started_ = Clock::now();
    net::async_write(socket_, net::buffer(pool_[index]),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->Fail();
                       self->Read();
                     });
  }

  void Read() {
    if (have_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    socket_.async_read_some(net::buffer(buffer_.data() + have_, buffer_.size() - have_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Fail();
                              self->have_ += n;
                              self->OnData();
                            });
  }

  void OnData() {
    const Framing f = Frame(std::string_view(buffer_.data(), have_));
    if (f.malformed) return Fail();
    if (!f.complete) return Read();
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
    stats_.last_answer = Clock::now();
    if (f.status == 200) {
      ++stats_.ok;
      stats_.latencies_us.push_back(static_cast<uint32_t>(us));
    } else {
      ++stats_.errors;
      if (stats_.errors <= 3) {
        std::fprintf(stderr, "HTTP %u: %.*s\n", f.status, static_cast<int>(f.length - f.header_end),
                     buffer_.data() + f.header_end);
      }
    }
    // One request in flight per connection: nothing follows the answer.
    have_ = 0;
    if (f.close) return;
    Send();
  }

  void Fail() { ++stats_.errors; }

  tcp::socket socket_;
  const std::vector<std::string>& pool_;
  tcp::resolver::results_type endpoints_;
  Clock::time_point deadline_;
  Stats& stats_;
  size_t& next_;
  std::vector<char> buffer_;
  size_t have_ = 0;
  Clock::time_point started_;
};

bool Parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--target") {
      o.host = v.substr(0, v.rfind(':'));
      o.port = v.substr(v.rfind(':') + 1);
    } else if (k == "--connections") {
      o.connections = std::stoi(v);
    } else if (k == "--seconds") {
      o.seconds = std::stod(v);
    } else if (k == "--action") {
      o.action = v;
    } else if (k == "--key") {
      o.key = v;
    } else if (k == "--secret") {
      o.secret = v;
    } else if (k == "--query") {
      o.query = v;
    } else if (k == "--path") {
      o.path = v;
    } else if (k == "--unique-domain") {
      o.unique_domain = v == "1";
    } else if (k == "--body-file") {
      std::FILE* f = std::fopen(v.c_str(), "rb");
      if (!f) return false;
      char buf[4096];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) o.body.append(buf, n);
      std::fclose(f);
    } else if (k == "--dump") {
      o.dump = v;
    } else if (k == "--requests") {
      o.requests = std::stoull(v);
    } else if (k == "--content-type") {
      o.content_type = v;
    } else if (k == "--drain-query") {
      o.drain_query = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return false;
    }
  }
  return true;
}

// The integer after "Name": in a JSON answer; -1 when absent.
long long JsonInt(const std::string& body, const std::string& name) {
  const size_t at = body.find("\"" + name + "\":");
  return at == std::string::npos ? -1 : std::atoll(body.c_str() + at + name.size() + 3);
}

// Polls DescribePackageState until IssuedCount == UsedCount (or the limit passes); returns the
// IssuedCount reached.
long long DrainUntilIssued(const Options& load, const tcp::resolver::results_type& endpoints) {
  Options o = load;
  o.action = "DescribePackageState";
  o.query = o.drain_query;
  o.unique_domain = false;
  net::io_context ioc(1);
  beast::tcp_stream stream(ioc);
  stream.connect(endpoints);
  const auto limit =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.drain_limit_seconds * 1000));
  long long issued = -1;
  for (uint64_t seq = 0; Clock::now() < limit; ++seq) {
    Request req = SignedRequest(o, seq);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    issued = JsonInt(res.body(), "IssuedCount");
    const long long used = JsonInt(res.body(), "UsedCount");
    if (issued >= 0 && issued == used) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return issued;
}

// Request `req` as the bytes a client writes.
std::string Serialize(const Request& req) {
  std::ostringstream out;
  out << req;
  return std::move(out).str();
}

// The requests of the run, signed now (outside the timed window): `count` distinct signed ones,
// or the one unsigned request of a peer's own API.
std::vector<std::string> SignPool(const Options& o, size_t count) {
  std::vector<std::string> pool;
  if (!o.body.empty()) {
    pool.push_back(Serialize(SignedRequest(o, 0)));
    return pool;
  }
  pool.reserve(count);
  for (size_t i = 0; i < count; ++i) pool.push_back(Serialize(SignedRequest(o, i + 1)));
  return pool;
}

// CPU seconds (user + system) this process has used so far.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, o)) return 2;
  net::io_context ioc(1);
  tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(o.host, o.port);
  const size_t count =
      o.requests > 0 ? o.requests
                     : std::min<size_t>(3'000'000, static_cast<size_t>(o.seconds * 100'000) + 1);
  const auto sign_begin = Clock::now();
  const std::vector<std::string> pool = SignPool(o, count);
  const double sign_seconds = std::chrono::duration<double>(Clock::now() - sign_begin).count();
  if (!o.dump.empty()) {
    std::FILE* f = std::fopen(o.dump.c_str(), "wb");
    if (!f) return 2;
    for (const std::string& r : pool) {
      std::fwrite(r.data(), 1, r.size(), f);
      std::fputc('\0', f);
    }
    return std::fclose(f) == 0 ? 0 : 1;
  }
  Stats stats;
  stats.latencies_us.reserve(std::min<size_t>(count, 4'000'000));
  size_t next = 0;
  const double cpu_begin = CpuSeconds();
  const auto begin = Clock::now();
  const auto deadline = begin + std::chrono::milliseconds(static_cast<int64_t>(o.seconds * 1000));
  for (int i = 0; i < o.connections; ++i) {
    std::make_shared<Connection>(ioc, pool, endpoints, deadline, stats, next)->Start();
  }
  ioc.run();
  // Over the time run: to the deadline, or to the last answer when the pool ended the run early.
  const auto end = stats.pool_exhausted ? stats.last_answer : Clock::now();
  const double elapsed = std::chrono::duration<double>(end - begin).count();
  // The generator's own CPU in the window, per answer: what bench/run.sh compares with wrk.
  const double load_cpu = CpuSeconds() - cpu_begin;
  long long issued = -1;
  double to_issued = 0;
  if (!o.drain_query.empty()) {
    issued = DrainUntilIssued(o, endpoints);
    to_issued = std::chrono::duration<double>(Clock::now() - begin).count();
  }
  std::vector<uint32_t>& l = stats.latencies_us;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) -> double {
    if (l.empty()) return 0;
    return l[std::min(l.size() - 1, static_cast<size_t>(p * static_cast<double>(l.size())))] /
           1000.0;
  };
  std::printf(
      "{\"ok\":%llu,\"errors\":%llu,\"connect_failures\":%llu,\"seconds\":%.3f,\"rps\":%.1f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"issued\":%lld,"
      "\"issued_per_s\":%.1f,\"presigned\":%zu,\"sign_seconds\":%.2f,\"pool_exhausted\":%s,"
      "\"load_cpu_s\":%.3f}\n",
      static_cast<unsigned long long>(stats.ok), static_cast<unsigned long long>(stats.errors),
      static_cast<unsigned long long>(stats.connect_failures), elapsed,
      static_cast<double>(stats.ok) / elapsed, pct(0.50), pct(0.99), pct(0.999), issued,
      issued > 0 ? static_cast<double>(issued) / to_issued : 0.0, pool.size(), sign_seconds,
      stats.pool_exhausted ? "true" : "false", load_cpu);
  return stats.ok > 0 ? 0 : 1;
}
