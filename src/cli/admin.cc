#include <fstream>
#include <iostream>
#include <iterator>
#include <tuple>

#include <nlohmann/json.hpp>

#include "acme/eab.h"
#include "cli/commands.h"
#include "cli/runtime.h"
#include "core/time_format.h"

namespace certplan::cli {
namespace {

using Json = nlohmann::ordered_json;

struct AdminFlags {
  std::string data_dir = "./certplan-data";
  std::string store_url;
  std::string name;
  int64_t account = 0;
  std::string key_id;
  std::string product;
  int64_t count = 0;
  std::string expires;
  std::string user;
  std::string policy;
  std::string document;  // file path, or "-" for standard input
  bool single_use = false;
  std::string names;
};

int Print(const Json& json) {
  std::cout << json.dump(2) << std::endl;
  return 0;
}

Json PlanJson(const cas::Plan& p) {
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
  RuntimeOptions options;
  options.store_url = f.store_url;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(f.data_dir, options);
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
  Result<iam::IssuedKey> key = rt.identities->CreateKey(f.account, f.user);
  if (!key) return key.error();
  Json out = {{"AccountId", f.account},
              {"AccessKeyId", key->access_key_id},
              {"AccessKeySecret", key->access_key_secret}};
  if (!f.user.empty()) out["User"] = f.user;
  return out;
}

Result<Json> Done(const Status& s, Json out) {
  if (!s) return s.error();
  return out;
}

Result<Json> UserCreate(Runtime& rt, const AdminFlags& f) {
  return Done(rt.identities->CreateUser(f.account, f.user),
              {{"AccountId", f.account}, {"User", f.user}});
}

Result<Json> UserList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<iam::User>> users = rt.identities->ListUsers(f.account);
  if (!users) return users.error();
  Json out = Json::array();
  for (const iam::User& u : *users) {
    out.push_back({{"User", u.name}, {"CreatedAt", FormatIso8601Utc(u.created_at)}});
  }
  return out;
}

Result<Json> UserDelete(Runtime& rt, const AdminFlags& f) {
  return Done(rt.identities->DeleteUser(f.account, f.user),
              {{"AccountId", f.account}, {"Deleted", f.user}});
}

Result<Json> PolicyCreate(Runtime& rt, const AdminFlags& f) {
  std::string document;
  if (f.document == "-") {
    document.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(f.document);
    if (!in) return InvalidParameter("document", "cannot read " + f.document);
    document.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return Done(rt.identities->CreatePolicy(f.account, f.policy, document),
              {{"AccountId", f.account}, {"PolicyName", f.policy}});
}

Result<Json> PolicyList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<iam::PolicyRecord>> policies = rt.identities->ListPolicies(f.account);
  if (!policies) return policies.error();
  Json out = Json::array();
  for (const iam::PolicyRecord& p : *policies) {
    out.push_back({{"PolicyName", p.name}, {"PolicyDocument", Json::parse(p.document)}});
  }
  return out;
}

Result<Json> PolicyAttach(Runtime& rt, const AdminFlags& f) {
  return Done(rt.identities->AttachPolicy(f.account, f.user, f.policy),
              {{"User", f.user}, {"PolicyName", f.policy}, {"Attached", true}});
}

Result<Json> PolicyDetach(Runtime& rt, const AdminFlags& f) {
  return Done(rt.identities->DetachPolicy(f.account, f.user, f.policy),
              {{"User", f.user}, {"PolicyName", f.policy}, {"Attached", false}});
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
  Result<cas::Plan> plan = rt.plans->Grant(f.account, f.product, f.count, expires);
  if (!plan) return plan.error();
  return PlanJson(*plan);
}

Result<Json> PlanList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<cas::Plan>> plans = rt.plans->List(f.account);
  if (!plans) return plans.error();
  Json out = Json::array();
  for (const cas::Plan& p : *plans) out.push_back(PlanJson(p));
  return out;
}

Status CheckAccount(Runtime& rt, int64_t account_id) {
  Result<bool> exists = rt.plan_store->AccountExists(account_id);
  if (!exists) return exists.error();
  if (!*exists) {
    return InvalidParameter("account", "no account " + std::to_string(account_id) + ".");
  }
  return Ok{};
}

Result<Json> EabCreate(Runtime& rt, const AdminFlags& f) {
  if (Status s = CheckAccount(rt, f.account); !s) return s.error();
  acme::EabKeys keys(*rt.acme_store, *rt.box, *rt.clock);
  Result<acme::NewEabKey> made = keys.Create(f.account, f.product, f.single_use, f.names);
  if (!made) return made.error();
  return Json{{"KeyId", made->key.key_id},
              {"HmacKey", made->hmac_key},
              {"AccountId", f.account},
              {"ProductCode", made->key.product_code},
              {"SingleUse", made->key.single_use},
              {"Names", made->key.names}};
}

Result<Json> EabList(Runtime& rt, const AdminFlags& f) {
  if (Status s = CheckAccount(rt, f.account); !s) return s.error();
  acme::EabKeys keys(*rt.acme_store, *rt.box, *rt.clock);
  Result<std::vector<acme::EabKeyUsage>> list = keys.List(f.account);
  if (!list) return list.error();
  Json out = Json::array();
  for (const acme::EabKeyUsage& u : *list) {
    Json accounts = Json::array();
    int64_t units = 0, issued = 0;
    for (const acme::BoundAccount& a : u.accounts) {
      accounts.push_back({{"AcmeAccountId", a.acme_account_id},
                          {"Status", a.deactivated ? "deactivated" : "valid"},
                          {"Orders", a.orders},
                          {"UnitsHeld", a.units_held},
                          {"Issued", a.issued}});
      units += a.units_held;
      issued += a.issued;
    }
    out.push_back({{"KeyId", u.key.key_id},
                   {"AccountId", u.key.account_id},
                   {"ProductCode", u.key.product_code},
                   {"SingleUse", u.key.single_use},
                   {"Names", u.key.names},
                   {"Revoked", u.key.revoked},
                   {"CreatedAt", FormatIso8601Utc(u.key.created_at)},
                   {"Accounts", accounts},
                   {"UnitsHeld", units},
                   {"Issued", issued}});
  }
  return out;
}

Result<Json> EabRevoke(Runtime& rt, const AdminFlags& f) {
  acme::EabKeys keys(*rt.acme_store, *rt.box, *rt.clock);
  if (Status s = keys.Revoke(f.key_id); !s) return s.error();
  return Json{{"KeyId", f.key_id}, {"Revoked", true}};
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
  admin
      ->add_option("--store-url", f->store_url,
                   "postgresql://… (default: SQLite in the data directory)")
      ->envname("CERTPLAN_STORE_URL");
  admin->require_subcommand(1);

  CLI::App* account = admin->add_subcommand("account", "Accounts")->require_subcommand(1);
  Leaf(account, "create", "Create an account with a root AccessKey", f, run, AccountCreate)
      ->add_option("--name", f->name, "Account name")
      ->required();

  CLI::App* key = admin->add_subcommand("key", "AccessKeys")->require_subcommand(1);
  CLI::App* key_create =
      Leaf(key, "create", "Create an AccessKey (root, or a RAM user's)", f, run, KeyCreate);
  key_create->add_option("--account", f->account, "Account id")->required();
  key_create->add_option("--user", f->user, "RAM user (default: the account's root identity)");
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

  CLI::App* user = admin->add_subcommand("user", "RAM users")->require_subcommand(1);
  for (auto [name, help, body] :
       {std::tuple{"create", "Create a RAM user", &UserCreate},
        std::tuple{"delete", "Delete a RAM user with its keys", &UserDelete}}) {
    CLI::App* cmd = Leaf(user, name, help, f, run, body);
    cmd->add_option("--account", f->account, "Account id")->required();
    cmd->add_option("--name", f->user, "User name")->required();
  }
  Leaf(user, "list", "List an account's RAM users", f, run, UserList)
      ->add_option("--account", f->account, "Account id")
      ->required();

  CLI::App* policy = admin->add_subcommand("policy", "RAM policies")->require_subcommand(1);
  CLI::App* create =
      Leaf(policy, "create", "Create a custom policy (validated)", f, run, PolicyCreate);
  create->add_option("--account", f->account, "Account id")->required();
  create->add_option("--name", f->policy, "Policy name")->required();
  create->add_option("--document", f->document, "Policy JSON file, or - for stdin")->required();
  Leaf(policy, "list", "List an account's custom policies", f, run, PolicyList)
      ->add_option("--account", f->account, "Account id")
      ->required();
  for (auto [name, help, body] :
       {std::tuple{"attach", "Attach a policy to a user", &PolicyAttach},
        std::tuple{"detach", "Detach a policy from a user", &PolicyDetach}}) {
    CLI::App* cmd = Leaf(policy, name, help, f, run, body);
    cmd->add_option("--account", f->account, "Account id")->required();
    cmd->add_option("--user", f->user, "User name")->required();
    cmd->add_option("--policy", f->policy,
                    "Policy name (custom, or AliyunYundunCertReadOnlyAccess / "
                    "AliyunYundunCertFullAccess)")
        ->required();
  }

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

  CLI::App* acme = admin->add_subcommand("acme", "The ACME front")->require_subcommand(1);
  CLI::App* eab =
      acme->add_subcommand("eab", "External Account Binding keys")->require_subcommand(1);
  CLI::App* eab_create = Leaf(eab, "create",
                              "Make an EAB key bound to an account and a ProductCode (its HMAC "
                              "key is printed once)",
                              f, run, EabCreate);
  eab_create->add_option("--account", f->account, "Account id")->required();
  eab_create->add_option("--product", f->product, "ProductCode")->required();
  eab_create->add_flag("--single-use", f->single_use, "Bind one ACME account at most");
  eab_create->add_option("--names", f->names,
                         "Allowed names, comma-separated ('*.example.com,host.example.com')");
  Leaf(eab, "list", "List an account's EAB keys with the ACME accounts they bound", f, run, EabList)
      ->add_option("--account", f->account, "Account id")
      ->required();
  Leaf(eab, "revoke", "Revoke an EAB key: its accounts can place no new orders", f, run, EabRevoke)
      ->add_option("KEYID", f->key_id, "EAB key id")
      ->required();
}

}  // namespace certplan::cli
