// Reads what a store's Explain* method printed into the facts the list tests assert, the same
// for both backends: which table or index each step reads and how, and whether anything but the
// outermost step sorts (a sort below it would sort the account's rows, not the page's).
#pragma once

#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace certplan::store {

struct PlanFacts {
  // One per read: "full-scan <table>", "index-only <index>", "index <index>",
  // "primary-key <table>", "bitmap <index>".
  std::multiset<std::string> reads;
  bool sorts_below_root = false;
  std::string text;  // the plan as printed, for failure messages
};

// SQLite's EXPLAIN QUERY PLAN as SqliteStore prints it: one step a line, two spaces a level.
inline PlanFacts ReadSqlitePlan(const std::string& plan) {
  PlanFacts facts;
  facts.text = plan;
  std::istringstream lines(plan);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) continue;
    const std::string step = line.substr(indent);
    if (step.rfind("USE TEMP B-TREE", 0) == 0 && indent > 0) facts.sorts_below_root = true;
    if (step.rfind("SCAN CONSTANT ROW", 0) == 0) continue;
    std::istringstream words(step);
    std::string verb, table, using_word, kind;
    words >> verb >> table >> using_word;
    if (verb == "SCAN") {
      facts.reads.insert("full-scan " + table);
    } else if (verb == "SEARCH") {
      if (step.find("USING INTEGER PRIMARY KEY") != std::string::npos ||
          step.find("USING PRIMARY KEY") != std::string::npos) {
        facts.reads.insert("primary-key " + table);
      } else if (size_t at = step.find("USING COVERING INDEX "); at != std::string::npos) {
        std::istringstream rest(step.substr(at + 21));
        std::string index;
        rest >> index;
        facts.reads.insert("index-only " + index);
      } else if (size_t at2 = step.find("USING INDEX "); at2 != std::string::npos) {
        std::istringstream rest(step.substr(at2 + 12));
        std::string index;
        rest >> index;
        facts.reads.insert("index " + index);
      } else {
        facts.reads.insert("other " + step);
      }
    }
  }
  return facts;
}

namespace plans_internal {

inline void Walk(const nlohmann::json& node, int depth, PlanFacts& facts) {
  const std::string type = node.value("Node Type", "");
  const std::string relation = node.value("Relation Name", "");
  const std::string index = node.value("Index Name", "");
  if (type == "Seq Scan") facts.reads.insert("full-scan " + relation);
  if (type == "Index Only Scan") facts.reads.insert("index-only " + index);
  // A lookup by primary key (PostgreSQL names that index <table>_pkey), plain or as a bitmap.
  const bool by_key = index.size() > 5 && index.compare(index.size() - 5, 5, "_pkey") == 0;
  if (type == "Index Scan" || type == "Bitmap Index Scan") {
    if (by_key) {
      facts.reads.insert("primary-key " + index.substr(0, index.size() - 5));
    } else {
      facts.reads.insert((type == "Index Scan" ? "index " : "bitmap ") + index);
    }
  }
  if (type == "Sort" && depth > 0) facts.sorts_below_root = true;
  if (node.contains("Plans")) {
    for (const nlohmann::json& child : node["Plans"]) Walk(child, depth + 1, facts);
  }
}

}  // namespace plans_internal

// PostgreSQL's EXPLAIN (FORMAT JSON).
inline PlanFacts ReadPostgresPlan(const std::string& plan) {
  PlanFacts facts;
  facts.text = plan;
  const nlohmann::json parsed = nlohmann::json::parse(plan, nullptr, false);
  if (parsed.is_array() && !parsed.empty() && parsed[0].contains("Plan")) {
    plans_internal::Walk(parsed[0]["Plan"], 0, facts);
  } else {
    facts.reads.insert("unreadable plan");
  }
  return facts;
}

}  // namespace certplan::store
