#include "validation/dns_txt_check.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <cstring>

namespace certplan::validation {

Result<std::vector<std::string>> LookupTxt(const DnsServer& server, std::string_view name) {
  // glibc's resolver (libresolv): a per-call res_state is thread-safe and lets us point at one
  // server and port, which is all validation needs.
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (res_ninit(&state) != 0) return InternalError("res_ninit failed");
  if (!server.host.empty()) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server.port);
    if (inet_pton(AF_INET, server.host.c_str(), &addr.sin_addr) != 1) {
      res_nclose(&state);
      return InvalidParameter("validation.dns_server", "an IPv4 address is required.");
    }
    state.nsaddr_list[0] = addr;
    state.nscount = 1;
  }
  state.retrans = 2;
  state.retry = 2;
  unsigned char answer[8192];
  const std::string qname(name);
  const int len = res_nquery(&state, qname.c_str(), ns_c_in, ns_t_txt, answer, sizeof answer);
  const int herr = state.res_h_errno;
  res_nclose(&state);
  std::vector<std::string> out;
  if (len < 0) {
    if (herr == HOST_NOT_FOUND || herr == NO_DATA) return out;
    return Error(ErrorCode::kServiceUnavailable, "DNS server did not answer for " + qname);
  }
  ns_msg msg;
  if (ns_initparse(answer, len, &msg) != 0) return InternalError("unparsable DNS answer");
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt) continue;
    const unsigned char* p = ns_rr_rdata(rr);
    const unsigned char* end = p + ns_rr_rdlen(rr);
    std::string text;
    while (p < end) {
      const size_t n = *p++;
      if (p + n > end) break;
      text.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace certplan::validation
