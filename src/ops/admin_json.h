#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cas/counter_audit_store.h"
#include "cas/plan.h"
#include "iam/identities.h"
#include "iam/identity_records.h"
#include "ops/admin_service.h"
#include "ops/operator_store.h"

namespace certplan::ops {

// The JSON objects operators see, the same from `certplan admin` (printed) and from the
// operator API (response bodies): one spelling of each field for both. Times are RFC 3339 UTC.
using Json = nlohmann::ordered_json;

Json NewAccountJson(const iam::NewAccount& created);
Json NewKeyJson(int64_t account_id, std::string_view user, const iam::IssuedKey& key);
Json KeyJson(const iam::KeyInfo& key);
Json KeyStatusJson(std::string_view access_key_id, bool enabled);
Json UserJson(const iam::User& user);
Json PolicyJson(const iam::PolicyRecord& policy);
Json PlanJson(const cas::Plan& plan);
// {"Clean": bool, "Drift": [...]}, as `certplan fsck` prints it.
Json FsckJson(const std::vector<cas::CounterDrift>& drifts);
// The list counters that disagree with the orders: AccountId, State, Stored, Actual, and for a
// created_at bucket its Level and Bucket.
Json ListCountDriftJson(const std::vector<cas::ListCountDrift>& drifts);
// A token as listed: never the token or its hash.
Json OperatorTokenJson(const OperatorTokenRecord& token);
// A new token: the listed fields plus "Token", shown this once.
Json NewOperatorTokenJson(const NewOperatorTokenInfo& created);

// Lists as arrays of the objects above.
template <typename T>
Json ListJson(const std::vector<T>& items, Json (*one)(const T&)) {
  Json out = Json::array();
  for (const T& item : items) out.push_back(one(item));
  return out;
}

}  // namespace certplan::ops
