#pragma once

#include <string_view>
#include <vector>

#include "ops/admin_service.h"
#include "rpc/request.h"

namespace certplan::ops {

// One route of the operator API: an HTTP method and a path template whose `{Name}` segments
// are parameters ("/v1/accounts/{AccountId}/plans").
struct Route {
  std::string_view method;
  std::string_view path;
};

// The operator API: JSON over HTTP on its own listener ([server] admin_listen), for billing and
// provisioning systems. Every request but GET /openapi.json carries `Authorization: Bearer
// <operator token>`; every route calls AdminService, as `certplan admin` does. Answers are JSON
// objects with a RequestId; refusals are the CAS error envelope (RequestId, HostId, Code,
// Message, Recommend) with ToWire's status: kInvalidOperatorToken (401) first, then the route
// (InvalidAction.NotFound 404, UnsupportedHTTPMethod 403), the body and path (MissingParameter /
// InvalidParameter naming the field; unknown fields are refused), an account in the path that
// does not exist (InvalidAccount.NotFound 404), and the service's own errors. Thread-safe.
class OperatorApi {
 public:
  explicit OperatorApi(AdminService& service) : service_(service) {}

  // Answers one request and writes its access-log line (RequestId, token id, route, Code).
  rpc::Response Handle(const rpc::Request& request);

  // Every route served, /openapi.json included (the OpenAPI document lists exactly these).
  static std::vector<Route> Routes();

 private:
  AdminService& service_;
};

// The OpenAPI 3 document describing every route (src/ops/openapi.json, embedded at build time).
std::string_view OpenApiDocument();

}  // namespace certplan::ops
