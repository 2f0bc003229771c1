#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "core/time_format.h"

namespace certplan::cli {
namespace {

using Json = nlohmann::ordered_json;

struct AdminFlags {
  std::string data_dir = "./certplan-data";
  std::string name;
  int64_t account = 0;
  std::string key_id;
  std::string product;
  int64_t count = 0;
  std::string expires;
};

int Print(const Json& json) {
  std::cout << json.dump(2) << std::endl;
  return 0;
}

Json PlanJson(const store::Plan& p) {
  Json j = {{"PlanId", p.id},
            {"AccountId", p.account_id},
            {"ProductCode", p.product_code},
            {"Count", p.count},
            {"GrantedAt", FormatIso8601Utc(p.granted_at)}};
  j["Expires"] = p.expires_at ? Json(FormatIso8601Utc(*p.expires_at)) : Json(nullptr);
  return j;
}

// Opens the data directory and runs `body` with it, reporting failures uniformly.
int WithRuntime(const AdminFlags& f, const std::function<Result<Json>(Runtime&)>& body) {
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(f.data_dir);
  if (!rt) return ReportFailure(rt.error());
  Result<Json> out = body(**rt);
  if (!out) return ReportFailure(out.error());
  return Print(*out);
}

Result<Json> AccountCreate(Runtime& rt, const AdminFlags& f) {
  Result<iam::NewAccount> created = rt.identities->CreateAccount(f.name);
  if (!created) return created.error();
  return Json{{"AccountId", created->account.id},
              {"AccessKeyId", created->root_key.access_key_id},
              {"AccessKeySecret", created->root_key.access_key_secret}};
}

Result<Json> KeyCreate(Runtime& rt, const AdminFlags& f) {
  Result<iam::IssuedKey> key = rt.identities->CreateKey(f.account);
  if (!key) return key.error();
  return Json{{"AccountId", f.account},
              {"AccessKeyId", key->access_key_id},
              {"AccessKeySecret", key->access_key_secret}};
}

Result<Json> KeyList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<iam::KeyInfo>> keys = rt.identities->ListKeys(f.account);
  if (!keys) return keys.error();
  Json out = Json::array();
  for (const iam::KeyInfo& k : *keys) {
    out.push_back({{"AccessKeyId", k.access_key_id},
                   {"AccountId", k.account_id},
                   {"User", k.user_name},
                   {"Status", k.enabled ? "Active" : "Inactive"},
                   {"CreatedAt", FormatIso8601Utc(k.created_at)}});
  }
  return out;
}

Result<Json> KeySetEnabled(Runtime& rt, const AdminFlags& f, bool enabled) {
  Status s = rt.identities->SetKeyEnabled(f.key_id, enabled);
  if (!s) return s.error();
  return Json{{"AccessKeyId", f.key_id}, {"Status", enabled ? "Active" : "Inactive"}};
}

Result<Json> PlanGrant(Runtime& rt, const AdminFlags& f) {
  std::optional<int64_t> expires;
  if (!f.expires.empty()) {
    expires = ParseRfc3339(f.expires);
    if (!expires) return InvalidParameter("expires", "use RFC 3339, e.g. 2027-01-01T00:00:00Z.");
  }
  Result<store::Plan> plan = rt.plans->Grant(f.account, f.product, f.count, expires);
  if (!plan) return plan.error();
  return PlanJson(*plan);
}

Result<Json> PlanList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<store::Plan>> plans = rt.plans->List(f.account);
  if (!plans) return plans.error();
  Json out = Json::array();
  for (const store::Plan& p : *plans) out.push_back(PlanJson(p));
  return out;
}

// Registers `name` under `parent`; when chosen, `run` executes `body` on an opened runtime.
CLI::App* Leaf(CLI::App* parent, const char* name, const char* help, std::shared_ptr<AdminFlags> f,
               Runner& run, std::function<Result<Json>(Runtime&, const AdminFlags&)> body) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->callback([f, &run, body] {
    run = [f, body] { return WithRuntime(*f, [&](Runtime& rt) { return body(rt, *f); }); };
  });
  return cmd;
}

}  // namespace

void AddAdminCommand(CLI::App& app, Runner& run) {
  auto f = std::make_shared<AdminFlags>();
  CLI::App* admin = app.add_subcommand("admin", "Manage accounts, AccessKeys and plans");
  admin->add_option("--data-dir", f->data_dir, "Data directory (default ./certplan-data)");
  admin->require_subcommand(1);

  CLI::App* account = admin->add_subcommand("account", "Accounts")->require_subcommand(1);
  Leaf(account, "create", "Create an account with a root AccessKey", f, run, AccountCreate)
      ->add_option("--name", f->name, "Account name")
      ->required();

  CLI::App* key = admin->add_subcommand("key", "AccessKeys")->require_subcommand(1);
  Leaf(key, "create", "Create a root AccessKey", f, run, KeyCreate)
      ->add_option("--account", f->account, "Account id")
      ->required();
  Leaf(key, "list", "List an account's AccessKeys", f, run, KeyList)
      ->add_option("--account", f->account, "Account id")
      ->required();
  Leaf(key, "disable", "Disable an AccessKey", f, run,
       [](Runtime& rt, const AdminFlags& fl) { return KeySetEnabled(rt, fl, false); })
      ->add_option("--id", f->key_id, "AccessKeyId")
      ->required();
  Leaf(key, "enable", "Enable an AccessKey", f, run,
       [](Runtime& rt, const AdminFlags& fl) { return KeySetEnabled(rt, fl, true); })
      ->add_option("--id", f->key_id, "AccessKeyId")
      ->required();

  CLI::App* plan =
      admin->add_subcommand("plan", "Certificate resource plans")->require_subcommand(1);
  CLI::App* grant = Leaf(plan, "grant", "Grant certificates of a ProductCode", f, run, PlanGrant);
  grant->add_option("--account", f->account, "Account id")->required();
  grant->add_option("--product", f->product, "ProductCode")->required();
  grant->add_option("--count", f->count, "Number of certificates")->required();
  grant->add_option("--expires", f->expires, "Expiry, RFC 3339");
  Leaf(plan, "list", "List an account's plans", f, run, PlanList)
      ->add_option("--account", f->account, "Account id")
      ->required();
}

}  // namespace certplan::cli
