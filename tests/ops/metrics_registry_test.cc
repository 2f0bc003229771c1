#include "ops/metrics_registry.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace certplan::ops {
namespace {

TEST(MetricsRegistry, RendersCountersWithHelpTypeAndLabels) {
  Registry registry;
  Counter ok = registry.AddCounter("certplan_requests_total", "Requests.",
                                   {{"action", "DescribePackageState"}, {"code", "OK"}});
  Counter bad = registry.AddCounter("certplan_requests_total", "Requests.",
                                    {{"action", "DescribePackageState"}, {"code", "Bad"}});
  ok.Add();
  ok.Add(2);
  (void)bad;
  EXPECT_EQ(ok.Value(), 3u);
  EXPECT_EQ(registry.Render(),
            "# HELP certplan_requests_total Requests.\n"
            "# TYPE certplan_requests_total counter\n"
            "certplan_requests_total{action=\"DescribePackageState\",code=\"OK\"} 3\n"
            "certplan_requests_total{action=\"DescribePackageState\",code=\"Bad\"} 0\n");
}

TEST(MetricsRegistry, SeriesDeclaredOnceNonZeroAppearWhenTheyCount) {
  Registry registry;
  Counter c =
      registry.AddCounter("x_total", "X.", {{"code", "Rare"}}, Registry::Zero::kOnceNonZero);
  EXPECT_EQ(registry.Render().find("x_total{"), std::string::npos);
  c.Add();
  EXPECT_NE(registry.Render().find("x_total{code=\"Rare\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(EscapeHelp("line\\one\ntwo \"quoted\""), "line\\\\one\\ntwo \"quoted\"");
  Registry registry;
  registry.AddCounter("y_total", "Help with \\ and\nnewline.", {{"v", "q\"uote"}}).Add();
  EXPECT_EQ(registry.Render(),
            "# HELP y_total Help with \\\\ and\\nnewline.\n"
            "# TYPE y_total counter\n"
            "y_total{v=\"q\\\"uote\"} 1\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInclusiveUpperBounds) {
  Registry registry;
  Histogram h = registry.AddHistogram("lat_seconds", "Latency.", {{"action", "A"}},
                                      {1000, 5000, 10000}, 1e6);  // µs rendered as seconds
  h.Observe(1000);                                                 // on the bound: first bucket
  h.Observe(1001);                                                 // second
  h.Observe(7000);                                                 // third
  h.Observe(50000);                                                // overflow
  EXPECT_EQ(h.Count(), 4u);
  EXPECT_EQ(h.Sum(), 59001u);
  EXPECT_EQ(h.BucketCount(0), 1u);
  EXPECT_EQ(h.BucketCount(3), 1u);
  EXPECT_EQ(registry.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{action=\"A\",le=\"0.001\"} 1\n"
            "lat_seconds_bucket{action=\"A\",le=\"0.005\"} 2\n"
            "lat_seconds_bucket{action=\"A\",le=\"0.01\"} 3\n"
            "lat_seconds_bucket{action=\"A\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{action=\"A\"} 0.059001\n"
            "lat_seconds_count{action=\"A\"} 4\n");
}

TEST(MetricsRegistry, CollectorsWriteGaugesAfterDeclaredFamilies) {
  Registry registry;
  registry.AddCounter("a_total", "A.", {}).Add(7);
  registry.AddCollector([](Exposition& out) {
    out.Family("orders", "Orders by state.", "gauge");
    out.Sample({{"state", "process"}}, 2);
    out.Sample({{"state", "certificate"}}, 0.5);
    out.Family("empty_gauge", "No samples.", "gauge");
  });
  EXPECT_EQ(registry.Render(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 7\n"
            "# HELP orders Orders by state.\n# TYPE orders gauge\n"
            "orders{state=\"process\"} 2\norders{state=\"certificate\"} 0.5\n"
            "# HELP empty_gauge No samples.\n# TYPE empty_gauge gauge\n");
}

TEST(MetricsRegistry, FormatsValues) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(5e-05), "0.00005");
  EXPECT_EQ(FormatValue(1e-7), "1e-07");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(FormatValue(1.7e18), "1.7e+18");
}

TEST(MetricsRegistry, ValidatesNames) {
  EXPECT_TRUE(ValidMetricName("certplan_requests_total"));
  EXPECT_TRUE(ValidMetricName("ns:metric"));
  EXPECT_FALSE(ValidMetricName("9lives"));
  EXPECT_FALSE(ValidMetricName("with-dash"));
  EXPECT_FALSE(ValidMetricName(""));
  EXPECT_TRUE(ValidLabelName("action"));
  EXPECT_FALSE(ValidLabelName("__reserved"));
  EXPECT_FALSE(ValidLabelName("a:b"));
  EXPECT_DEATH(Registry().AddCounter("bad-name", "x", {}), "bad metric name");
  EXPECT_DEATH(Registry().AddCounter("ok_total", "x", {{"le", "1"}}), "bad label name");
}

TEST(MetricsRegistry, SeriesBeyondOneBlockGetFreshSlots) {
  Registry registry;
  std::vector<Counter> counters;
  for (int i = 0; i < 1500; ++i) {
    counters.push_back(registry.AddCounter("many_total", "Many.", {{"i", std::to_string(i)}}));
  }
  for (int i = 0; i < 1500; ++i) counters[i].Add(i);
  for (int i = 0; i < 1500; ++i) ASSERT_EQ(counters[i].Value(), static_cast<uint64_t>(i));
}

TEST(MetricsRegistry, ConcurrentAddsAreAllCounted) {
  Registry registry;
  Counter c = registry.AddCounter("c_total", "C.", {});
  Histogram h = registry.AddHistogram("h_seconds", "H.", {}, {10, 20}, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c.Add();
        h.Observe(i % 30);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.Value(), 800000u);
  EXPECT_EQ(h.Count(), 800000u);
}

TEST(MetricsRegistry, DefaultHandlesIgnoreUpdates) {
  Counter c;
  Histogram h;
  c.Add();
  h.Observe(5);
  EXPECT_EQ(c.Value(), 0u);
  EXPECT_EQ(h.Count(), 0u);
}

}  // namespace
}  // namespace certplan::ops
