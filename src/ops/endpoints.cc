#include "ops/endpoints.h"

#include <nlohmann/json.hpp>

namespace certplan::ops {
namespace {

rpc::Response Json(int status, const nlohmann::ordered_json& body) {
  rpc::Response r;
  r.status = status;
  r.content_type = "application/json;charset=utf-8";
  r.body = body.dump();
  r.headers.emplace_back("cache-control", "no-store");
  return r;
}

rpc::Response Text(int status, std::string body) {
  rpc::Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

rpc::Response MethodNotAllowed() {
  rpc::Response r = Text(405, "method not allowed: use GET\n");
  r.headers.emplace_back("allow", "GET");
  return r;
}

}  // namespace

std::optional<rpc::Response> HealthEndpoints::Handle(const rpc::Request& request) {
  const bool live = request.path == "/healthz";
  if (!live && request.path != "/readyz") return std::nullopt;
  if (request.method != "GET") {
    rpc::Response r = Json(405, {{"status", "method not allowed"}, {"reason", "use GET"}});
    r.headers.emplace_back("allow", "GET");
    return r;
  }
  if (live) return Json(200, {{"status", "ok"}});
  // Readiness: the store answers (one round trip) and the CA can sign. The message is the
  // store's safe text; its detail (connection strings, library text) stays out.
  if (Status s = store_.Ping(); !s) {
    return Json(503, {{"status", "unavailable"}, {"reason", "store: " + s.error().message}});
  }
  if (Status s = ca_check_(); !s) {
    return Json(503, {{"status", "unavailable"}, {"reason", "ca: " + s.error().message}});
  }
  return Json(200, {{"status", "ready"}});
}

rpc::Response ServeMetrics(const rpc::Request& request, const ServiceMetrics& metrics) {
  if (request.path != "/metrics") return Text(404, "not found: the metrics are at /metrics\n");
  if (request.method != "GET") return MethodNotAllowed();
  rpc::Response r = Text(200, metrics.Render());
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

rpc::Response RefuseMetrics(const Error& error) {
  return Text(error.code == ErrorCode::kBodyTooLarge ? 413 : 400, error.message + "\n");
}

}  // namespace certplan::ops
