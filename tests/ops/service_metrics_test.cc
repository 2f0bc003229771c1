#include "ops/service_metrics.h"

#include <gtest/gtest.h>

#include "ops/endpoints.h"
#include "ops/observed.h"

namespace certplan::ops {
namespace {

// A store below the port: fixed answers, or unreachable.
class FakeMetricsStore final : public MetricsStore {
 public:
  bool up = true;
  Status Ping() override {
    if (!up) return Error(ErrorCode::kServiceUnavailable, "The store is not available.");
    return Ok{};
  }
  Result<std::vector<StateCount>> CountOrdersByState() override {
    return std::vector<StateCount>{{"process", 2}, {"certificate", 5}};
  }
  Result<std::vector<PlanUnits>> CountPlanUnits(int64_t, bool per_account) override {
    return std::vector<PlanUnits>{{per_account ? 42 : 0, "digicert-free-1-free", 20, 3, 1}};
  }
  Result<SoonestExpiry> FindSoonestExpiry(int64_t) override {
    return SoonestExpiry{1'900'000'000, std::nullopt};
  }
};

MetricsOptions Options(bool per_account = false) {
  return MetricsOptions{{"DescribePackageState", "CreateCertificateRequest"},
                        {"InvalidParameter", "Throttling.User"},
                        per_account,
                        "sqlite"};
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(ServiceMetrics, CountsRequestsByKnownActionAndCode) {
  ServiceMetrics metrics(Options());
  metrics.ObserveRequest("DescribePackageState", "", 30'000);
  metrics.ObserveRequest("DescribePackageState", "", 70'000);
  metrics.ObserveRequest("DescribePackageState", "Throttling.User", 10'000);
  metrics.ObserveRequest("NoSuchAction\"{", "InvalidParameter", 10'000);  // label set stays bounded
  metrics.ObserveRequest("CreateCertificateRequest", "Some.NewCode", 10'000);
  metrics.ObserveRefusal("RequestTimeout");
  const std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "certplan_requests_total{action=\"DescribePackageState\",code=\"OK\"} 2"));
  EXPECT_TRUE(Has(
      text, "certplan_requests_total{action=\"DescribePackageState\",code=\"Throttling.User\"} 1"));
  EXPECT_TRUE(Has(text, "certplan_requests_total{action=\"unknown\",code=\"InvalidParameter\"} 1"));
  EXPECT_TRUE(
      Has(text, "certplan_requests_total{action=\"CreateCertificateRequest\",code=\"other\"} 1"));
  EXPECT_TRUE(
      Has(text, "certplan_requests_total{action=\"CreateCertificateRequest\",code=\"OK\"} 0"));
  EXPECT_EQ(text.find("NoSuchAction"), std::string::npos);
  EXPECT_TRUE(Has(text, "certplan_requests_total{action=\"unknown\",code=\"other\"} 1"));
  EXPECT_TRUE(Has(text, "certplan_request_duration_seconds_count{action=\"unknown\"} 1"));
  EXPECT_TRUE(Has(text,
                  "certplan_request_duration_seconds_bucket{action=\"DescribePackageState\",le=\"0."
                  "00005\"} 2"));
  EXPECT_TRUE(Has(
      text,
      "certplan_request_duration_seconds_bucket{action=\"DescribePackageState\",le=\"0.0001\"} 3"));
  EXPECT_TRUE(
      Has(text, "certplan_request_duration_seconds_count{action=\"DescribePackageState\"} 3"));
  EXPECT_TRUE(
      Has(text, "certplan_request_duration_seconds_sum{action=\"DescribePackageState\"} 0.00011"));
}

TEST(ServiceMetrics, ReadsTheStoreAtScrapeTime) {
  FakeMetricsStore store;
  FakeClock clock(1'800'000'000);
  ServiceMetrics metrics(Options());
  metrics.AttachStore(store, clock);
  std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "certplan_store_up{backend=\"sqlite\"} 1"));
  EXPECT_TRUE(Has(text, "certplan_orders{state=\"process\"} 2"));
  EXPECT_TRUE(Has(text, "certplan_orders{state=\"certificate\"} 5"));
  EXPECT_TRUE(Has(text, "certplan_orders{state=\"domain_verify\"} 0"));
  EXPECT_TRUE(Has(text, "certplan_plan_units_granted{product_code=\"digicert-free-1-free\"} 20"));
  EXPECT_TRUE(Has(text, "certplan_plan_units_used{product_code=\"digicert-free-1-free\"} 3"));
  EXPECT_TRUE(Has(text, "certplan_plan_units_issued{product_code=\"digicert-free-1-free\"} 1"));
  EXPECT_TRUE(Has(
      text, "certplan_certificate_soonest_expiry_timestamp_seconds{source=\"issued\"} 1900000000"));
  EXPECT_EQ(text.find("source=\"uploaded\""), std::string::npos);
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(text.find("\nprocess_start_time_seconds "), std::string::npos);

  store.up = false;
  text = metrics.Render();
  EXPECT_TRUE(Has(text, "certplan_store_up{backend=\"sqlite\"} 0"));
  EXPECT_EQ(text.find("certplan_orders{"), std::string::npos);
}

TEST(ServiceMetrics, PlanUnitsPerAccountOnlyWhenAsked) {
  FakeMetricsStore store;
  FakeClock clock(1'800'000'000);
  ServiceMetrics metrics(Options(true));
  metrics.AttachStore(store, clock);
  EXPECT_TRUE(
      Has(metrics.Render(),
          "certplan_plan_units_used{account=\"42\",product_code=\"digicert-free-1-free\"} 3"));
}

class ScriptedChecker final : public cas::DomainChecker {
 public:
  bool pass = true;
  Status Check(cas::CheckMethod, std::string_view, std::string_view) override {
    if (!pass) return Error(ErrorCode::kInvalidParameter, "token not found");
    return Ok{};
  }
};

TEST(ServiceMetrics, ObservedCheckerCountsOutcomesAndPassesResultsThrough) {
  ServiceMetrics metrics(Options());
  ScriptedChecker inner;
  ObservedChecker checker(inner, metrics);
  EXPECT_TRUE(checker.Check(cas::CheckMethod::kDns, "a.example", "t"));
  inner.pass = false;
  Status failed = checker.Check(cas::CheckMethod::kFile, "a.example", "t");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "token not found");
  const std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "certplan_validation_checks_total{method=\"DNS\",outcome=\"pass\"} 1"));
  EXPECT_TRUE(Has(text, "certplan_validation_checks_total{method=\"FILE\",outcome=\"fail\"} 1"));
  EXPECT_TRUE(Has(text, "certplan_validation_checks_total{method=\"DNS\",outcome=\"fail\"} 0"));
}

rpc::Request Get(std::string path, std::string method = "GET") {
  rpc::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

// Each method answers differently, so a wrapper that routes one to another is caught.
class DistinctAuthority final : public pki::Authority {
 public:
  Result<pki::CsrFacts> InspectCsr(const std::string&) const override {
    return Error(ErrorCode::kCreateCertificateRequestFailed, "the subject has no CN.");
  }
  Result<pki::CsrFacts> InspectCsrNamesInSan(const std::string&) const override {
    pki::CsrFacts facts;
    facts.dns_names = {"www.example.com"};
    return facts;
  }
  Result<pki::GeneratedKey> GenerateKey() const override {
    return pki::GeneratedKey{"private", "public"};
  }
  Result<pki::IssuedCertificate> Issue(const pki::IssueRequest&) const override {
    return pki::IssuedCertificate{};
  }
  const std::string& root_pem() const override { return root_; }
  std::string root_ = "root";
};

// The ACME finalize path (CN optional) must reach the inner authority's own check: a wrapper
// that fell back to InspectCsr refused every certbot CSR ("the subject has no CN").
TEST(ServiceMetrics, ObservedAuthorityForwardsEveryMethodToItsOwnCounterpart) {
  DistinctAuthority inner;
  ServiceMetrics metrics(Options());
  ObservedAuthority observed(inner, metrics);
  Result<pki::CsrFacts> san = observed.InspectCsrNamesInSan("csr");
  ASSERT_TRUE(san);
  EXPECT_EQ(san->dns_names, std::vector<std::string>{"www.example.com"});
  Result<pki::CsrFacts> cn = observed.InspectCsr("csr");
  ASSERT_FALSE(cn);
  EXPECT_EQ(cn.error().code, ErrorCode::kCreateCertificateRequestFailed);
  EXPECT_EQ(observed.GenerateKey()->private_key_pem, "private");
  EXPECT_TRUE(observed.Issue(pki::IssueRequest{}));
  EXPECT_EQ(&observed.root_pem(), &inner.root_);
}

TEST(HealthEndpoints, LivenessReadinessAndTheirRefusals) {
  FakeMetricsStore store;
  bool ca_loaded = true;
  HealthEndpoints health(store, [&]() -> Status {
    if (!ca_loaded) return InternalError("the CA is not loaded");
    return Ok{};
  });
  EXPECT_FALSE(health.Handle(Get("/")));
  EXPECT_FALSE(health.Handle(Get("/healthz/extra")));
  std::optional<rpc::Response> live = health.Handle(Get("/healthz"));
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, R"({"status":"ok"})");
  std::optional<rpc::Response> ready = health.Handle(Get("/readyz"));
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready"})");
  store.up = false;
  ready = health.Handle(Get("/readyz"));
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body,
            R"({"status":"unavailable","reason":"store: The store is not available."})");
  EXPECT_EQ(health.Handle(Get("/healthz"))->status, 200);  // alive all the same
  store.up = true;
  ca_loaded = false;
  ready = health.Handle(Get("/readyz"));
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("\"reason\":\"ca: "), std::string::npos);
  EXPECT_EQ(health.Handle(Get("/readyz", "POST"))->status, 405);
}

TEST(MetricsEndpoint, ServesTheExpositionAtMetricsOnly) {
  ServiceMetrics metrics(Options());
  rpc::Response r = ServeMetrics(Get("/metrics"), metrics);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# TYPE certplan_requests_total counter\n"), std::string::npos);
  EXPECT_EQ(ServeMetrics(Get("/"), metrics).status, 404);
  EXPECT_EQ(ServeMetrics(Get("/metrics", "POST"), metrics).status, 405);
}

}  // namespace
}  // namespace certplan::ops
