#include <fstream>
#include <iostream>
#include <iterator>
#include <tuple>

#include <nlohmann/json.hpp>

#include "acme/eab.h"
#include "cli/commands.h"
#include "cli/runtime.h"
#include "core/time_format.h"
#include "ops/admin_json.h"

namespace certplan::cli {
namespace {

using ops::Json;

struct AdminFlags {
  std::string data_dir;  // empty: the configuration's (default ./certplan-data)
  std::string store_url;
  std::string config_file;
  std::string name;
  int64_t account = 0;
  std::string key_id;
  std::string product;
  int64_t count = 0;
  std::string expires;
  std::string idempotency_key;
  std::string user;
  std::string policy;
  std::string document;  // file path, or "-" for standard input
  std::string token_id;
  bool single_use = false;
  std::string names;
};

int Print(const Json& json) {
  std::cout << json.dump(2) << std::endl;
  return 0;
}

// Opens the (existing) data directory and runs `body` with it, reporting failures uniformly.
int WithRuntime(const AdminFlags& f, const std::function<Result<Json>(Runtime&)>& body) {
  Config config;
  if (int rc = LoadConfig(f.config_file, config); rc != 0) return rc;
  if (!f.data_dir.empty()) config.data_dir = f.data_dir;
  if (!f.store_url.empty()) config.store_url = f.store_url;
  RuntimeOptions options;
  options.store_url = config.store_url;
  options.ca = config.ca;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(config.data_dir, options);
  if (!rt) return ReportFailure(rt.error());
  Result<Json> out = body(**rt);
  if (!out) return ReportFailure(out.error());
  return Print(*out);
}

// Every command below is one call of the operator service (ops::AdminService), which the
// operator API calls too; the CLI acts as itself (no token).
const ops::Actor kCli = ops::Actor::Cli();

Result<Json> AccountCreate(Runtime& rt, const AdminFlags& f) {
  Result<iam::NewAccount> created = rt.admin->CreateAccount(kCli, f.name);
  if (!created) return created.error();
  return ops::NewAccountJson(*created);
}

Result<Json> KeyCreate(Runtime& rt, const AdminFlags& f) {
  Result<iam::IssuedKey> key = rt.admin->CreateKey(kCli, f.account, f.user);
  if (!key) return key.error();
  return ops::NewKeyJson(f.account, f.user, *key);
}

Result<Json> Done(const Status& s, Json out) {
  if (!s) return s.error();
  return out;
}

Result<Json> UserCreate(Runtime& rt, const AdminFlags& f) {
  return Done(rt.admin->CreateUser(kCli, f.account, f.user),
              {{"AccountId", f.account}, {"User", f.user}});
}

Result<Json> UserList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<iam::User>> users = rt.admin->ListUsers(kCli, f.account);
  if (!users) return users.error();
  return ops::ListJson(*users, &ops::UserJson);
}

Result<Json> UserDelete(Runtime& rt, const AdminFlags& f) {
  return Done(rt.admin->DeleteUser(kCli, f.account, f.user),
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
  return Done(rt.admin->CreatePolicy(kCli, f.account, f.policy, document),
              {{"AccountId", f.account}, {"PolicyName", f.policy}});
}

Result<Json> PolicyList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<iam::PolicyRecord>> policies = rt.admin->ListPolicies(kCli, f.account);
  if (!policies) return policies.error();
  return ops::ListJson(*policies, &ops::PolicyJson);
}

Result<Json> PolicyAttach(Runtime& rt, const AdminFlags& f) {
  return Done(rt.admin->AttachPolicy(kCli, f.account, f.user, f.policy),
              {{"User", f.user}, {"PolicyName", f.policy}, {"Attached", true}});
}

Result<Json> PolicyDetach(Runtime& rt, const AdminFlags& f) {
  return Done(rt.admin->DetachPolicy(kCli, f.account, f.user, f.policy),
              {{"User", f.user}, {"PolicyName", f.policy}, {"Attached", false}});
}

Result<Json> KeyList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<iam::KeyInfo>> keys = rt.admin->ListKeys(kCli, f.account);
  if (!keys) return keys.error();
  return ops::ListJson(*keys, &ops::KeyJson);
}

Result<Json> KeySetEnabled(Runtime& rt, const AdminFlags& f, bool enabled) {
  Status s = rt.admin->SetKeyEnabled(kCli, f.key_id, enabled);
  if (!s) return s.error();
  return ops::KeyStatusJson(f.key_id, enabled);
}

Result<Json> PlanGrant(Runtime& rt, const AdminFlags& f) {
  ops::GrantRequest request{f.account, f.product, f.count, std::nullopt, f.idempotency_key};
  if (!f.expires.empty()) {
    request.expires_at = ParseRfc3339(f.expires);
    if (!request.expires_at) {
      return InvalidParameter("expires", "use RFC 3339, e.g. 2027-01-01T00:00:00Z.");
    }
  }
  Result<ops::GrantOutcome> outcome = rt.admin->GrantPlan(kCli, request);
  if (!outcome) return outcome.error();
  return ops::PlanJson(outcome->plan);
}

Result<Json> PlanList(Runtime& rt, const AdminFlags& f) {
  Result<std::vector<cas::Plan>> plans = rt.admin->ListPlans(kCli, f.account);
  if (!plans) return plans.error();
  return ops::ListJson(*plans, &ops::PlanJson);
}

Result<Json> TokenCreate(Runtime& rt, const AdminFlags& f) {
  Result<ops::NewOperatorTokenInfo> created = rt.admin->CreateOperatorToken(kCli, f.name);
  if (!created) return created.error();
  return ops::NewOperatorTokenJson(*created);
}

Result<Json> TokenList(Runtime& rt, const AdminFlags&) {
  Result<std::vector<ops::OperatorTokenRecord>> tokens = rt.admin->ListOperatorTokens(kCli);
  if (!tokens) return tokens.error();
  return ops::ListJson(*tokens, &ops::OperatorTokenJson);
}

Result<Json> TokenRevoke(Runtime& rt, const AdminFlags& f) {
  Result<ops::OperatorTokenRecord> revoked = rt.admin->RevokeOperatorToken(kCli, f.token_id);
  if (!revoked) return revoked.error();
  return ops::OperatorTokenJson(*revoked);
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
  admin->add_option("--config", f->config_file, "TOML configuration file (data_dir, store, ca)")
      ->check(CLI::ExistingFile);
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
  grant->add_option("--idempotency-key", f->idempotency_key,
                    "Grant at most once for this key (a retry answers the first grant)");
  Leaf(plan, "list", "List an account's plans", f, run, PlanList)
      ->add_option("--account", f->account, "Account id")
      ->required();

  CLI::App* operator_cmd =
      admin->add_subcommand("operator", "The operator API's credentials")->require_subcommand(1);
  CLI::App* token =
      operator_cmd->add_subcommand("token", "Operator tokens (Authorization: Bearer …)")
          ->require_subcommand(1);
  Leaf(token, "create", "Create a token; it is printed this once, stored only hashed", f, run,
       TokenCreate)
      ->add_option("--name", f->name, "Token name (unique among tokens not revoked)")
      ->required();
  Leaf(token, "list", "List tokens (ids, names, created, last used; never the token)", f, run,
       TokenList);
  Leaf(token, "revoke", "Revoke a token at once", f, run, TokenRevoke)
      ->add_option("ID", f->token_id, "TokenId (from create or list)")
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
