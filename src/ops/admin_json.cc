#include "ops/admin_json.h"

#include "core/time_format.h"

namespace certplan::ops {
namespace {

Json Time(std::optional<int64_t> t) { return t ? Json(FormatIso8601Utc(*t)) : Json(nullptr); }

}  // namespace

Json NewAccountJson(const iam::NewAccount& created) {
  return Json{{"AccountId", created.account.id},
              {"AccessKeyId", created.root_key.access_key_id},
              {"AccessKeySecret", created.root_key.access_key_secret}};
}

Json NewKeyJson(int64_t account_id, std::string_view user, const iam::IssuedKey& key) {
  Json out = {{"AccountId", account_id},
              {"AccessKeyId", key.access_key_id},
              {"AccessKeySecret", key.access_key_secret}};
  if (!user.empty()) out["User"] = user;
  return out;
}

Json KeyJson(const iam::KeyInfo& k) {
  return Json{{"AccessKeyId", k.access_key_id},
              {"AccountId", k.account_id},
              {"User", k.user_name},
              {"Status", k.enabled ? "Active" : "Inactive"},
              {"CreatedAt", FormatIso8601Utc(k.created_at)}};
}

Json KeyStatusJson(std::string_view access_key_id, bool enabled) {
  return Json{{"AccessKeyId", access_key_id}, {"Status", enabled ? "Active" : "Inactive"}};
}

Json UserJson(const iam::User& u) {
  return Json{{"User", u.name}, {"CreatedAt", FormatIso8601Utc(u.created_at)}};
}

Json PolicyJson(const iam::PolicyRecord& p) {
  // Documents are validated before they are stored, so they parse; a row changed behind the
  // service's back is shown as the text it holds rather than failing the whole list.
  Json document = Json::parse(p.document, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) document = p.document;
  return Json{{"PolicyName", p.name}, {"PolicyDocument", std::move(document)}};
}

Json PlanJson(const cas::Plan& p) {
  return Json{{"PlanId", p.id},
              {"AccountId", p.account_id},
              {"ProductCode", p.product_code},
              {"Count", p.count},
              {"GrantedAt", FormatIso8601Utc(p.granted_at)},
              {"Expires", Time(p.expires_at)}};
}

Json FsckJson(const std::vector<cas::CounterDrift>& drifts) {
  Json out = {{"Clean", drifts.empty()}, {"Drift", Json::array()}};
  for (const cas::CounterDrift& d : drifts) {
    out["Drift"].push_back({{"AccountId", d.account_id},
                            {"ProductCode", d.product_code},
                            {"UsedCount", d.stored.used},
                            {"UsedCountRecounted", d.recounted.used},
                            {"IssuedCount", d.stored.issued},
                            {"IssuedCountRecounted", d.recounted.issued}});
  }
  return out;
}

Json ListCountDriftJson(const std::vector<cas::ListCountDrift>& drifts) {
  Json out = Json::array();
  for (const cas::ListCountDrift& d : drifts) {
    Json row = {{"AccountId", d.account_id},
                {"State", d.status},
                {"Stored", d.stored},
                {"Actual", d.actual}};
    if (d.level >= 0) {
      row["Level"] = d.level;
      row["Bucket"] = d.bucket;
    }
    out.push_back(std::move(row));
  }
  return out;
}

Json OperatorTokenJson(const OperatorTokenRecord& t) {
  return Json{{"TokenId", t.id},
              {"Name", t.name},
              {"Status", t.revoked_at ? "Revoked" : "Active"},
              {"CreatedAt", FormatIso8601Utc(t.created_at)},
              {"LastUsedAt", Time(t.last_used_at)},
              {"RevokedAt", Time(t.revoked_at)}};
}

Json NewOperatorTokenJson(const NewOperatorTokenInfo& created) {
  Json out = OperatorTokenJson(created.record);
  out["Token"] = created.token;
  return out;
}

}  // namespace certplan::ops
