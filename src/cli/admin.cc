#include <fstream>
#include <iostream>
#include <iterator>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "core/time_format.h"
#include "rpc/errors.h"

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

using Body = std::function<Result<Json>(Runtime&, const AdminFlags&, const audit::Actor&)>;

// Opens the data directory and runs `body` with it, reporting failures uniformly. A command
// that changes state (`action` not empty) is audited as principal "cli": on success by the
// domain, with the change; a refusal here, on its own.
int WithRuntime(const AdminFlags& f, std::string_view action, const Body& body) {
  RuntimeOptions options;
  options.store_url = f.store_url;
  Result<std::unique_ptr<Runtime>> rt = Runtime::Open(f.data_dir, options);
  if (!rt) return ReportFailure(rt.error());
  const audit::Actor actor{audit::PrincipalType::kCli, "cli", "", "", "", std::string(action)};
  Result<Json> out = body(**rt, f, actor);
  if (!out) {
    if (!action.empty()) {
      Status recorded =
          (*rt)->audit->RecordRefusal(actor, f.account, "", "", rpc::ToWire(out.error().code).code);
      if (!recorded) (void)ReportFailure(recorded.error());
    }
    return ReportFailure(out.error());
  }
  return Print(*out);
}

Result<Json> AccountCreate(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  Result<iam::NewAccount> created = rt.identities->CreateAccount(f.name, by);
  if (!created) return created.error();
  return Json{{"AccountId", created->account.id},
              {"AccessKeyId", created->root_key.access_key_id},
              {"AccessKeySecret", created->root_key.access_key_secret}};
}

Result<Json> KeyCreate(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  Result<iam::IssuedKey> key = rt.identities->CreateKey(f.account, f.user, by);
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

Result<Json> UserCreate(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  return Done(rt.identities->CreateUser(f.account, f.user, by),
              {{"AccountId", f.account}, {"User", f.user}});
}

Result<Json> UserList(Runtime& rt, const AdminFlags& f, const audit::Actor&) {
  Result<std::vector<iam::User>> users = rt.identities->ListUsers(f.account);
  if (!users) return users.error();
  Json out = Json::array();
  for (const iam::User& u : *users) {
    out.push_back({{"User", u.name}, {"CreatedAt", FormatIso8601Utc(u.created_at)}});
  }
  return out;
}

Result<Json> UserDelete(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  return Done(rt.identities->DeleteUser(f.account, f.user, by),
              {{"AccountId", f.account}, {"Deleted", f.user}});
}

Result<Json> PolicyCreate(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  std::string document;
  if (f.document == "-") {
    document.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(f.document);
    if (!in) return InvalidParameter("document", "cannot read " + f.document);
    document.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return Done(rt.identities->CreatePolicy(f.account, f.policy, document, by),
              {{"AccountId", f.account}, {"PolicyName", f.policy}});
}

Result<Json> PolicyList(Runtime& rt, const AdminFlags& f, const audit::Actor&) {
  Result<std::vector<iam::PolicyRecord>> policies = rt.identities->ListPolicies(f.account);
  if (!policies) return policies.error();
  Json out = Json::array();
  for (const iam::PolicyRecord& p : *policies) {
    out.push_back({{"PolicyName", p.name}, {"PolicyDocument", Json::parse(p.document)}});
  }
  return out;
}

Result<Json> PolicyAttach(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  return Done(rt.identities->AttachPolicy(f.account, f.user, f.policy, by),
              {{"User", f.user}, {"PolicyName", f.policy}, {"Attached", true}});
}

Result<Json> PolicyDetach(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  return Done(rt.identities->DetachPolicy(f.account, f.user, f.policy, by),
              {{"User", f.user}, {"PolicyName", f.policy}, {"Attached", false}});
}

Result<Json> KeyList(Runtime& rt, const AdminFlags& f, const audit::Actor&) {
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

Result<Json> KeySetEnabled(Runtime& rt, const AdminFlags& f, const audit::Actor& by, bool enabled) {
  Status s = rt.identities->SetKeyEnabled(f.key_id, enabled, by);
  if (!s) return s.error();
  return Json{{"AccessKeyId", f.key_id}, {"Status", enabled ? "Active" : "Inactive"}};
}

Result<Json> PlanGrant(Runtime& rt, const AdminFlags& f, const audit::Actor& by) {
  std::optional<int64_t> expires;
  if (!f.expires.empty()) {
    expires = ParseRfc3339(f.expires);
    if (!expires) return InvalidParameter("expires", "use RFC 3339, e.g. 2027-01-01T00:00:00Z.");
  }
  Result<cas::Plan> plan = rt.plans->Grant(f.account, f.product, f.count, expires, by);
  if (!plan) return plan.error();
  return PlanJson(*plan);
}

Result<Json> PlanList(Runtime& rt, const AdminFlags& f, const audit::Actor&) {
  Result<std::vector<cas::Plan>> plans = rt.plans->List(f.account);
  if (!plans) return plans.error();
  Json out = Json::array();
  for (const cas::Plan& p : *plans) out.push_back(PlanJson(p));
  return out;
}

// Registers `name` under `parent`; when chosen, `run` executes `body` on an opened runtime.
// A command that changes state is audited as "admin <group> <name>".
CLI::App* Leaf(CLI::App* parent, const char* name, const char* help, std::shared_ptr<AdminFlags> f,
               Runner& run, Body body, bool changes_state) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  const std::string action =
      changes_state ? "admin " + parent->get_name() + " " + std::string(name) : "";
  cmd->callback([f, &run, body, action] {
    run = [f, body, action] { return WithRuntime(*f, action, body); };
  });
  return cmd;
}

constexpr bool kChanges = true, kReads = false;

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
  Leaf(account, "create", "Create an account with a root AccessKey", f, run, AccountCreate,
       kChanges)
      ->add_option("--name", f->name, "Account name")
      ->required();

  CLI::App* key = admin->add_subcommand("key", "AccessKeys")->require_subcommand(1);
  CLI::App* key_create = Leaf(key, "create", "Create an AccessKey (root, or a RAM user's)", f, run,
                              KeyCreate, kChanges);
  key_create->add_option("--account", f->account, "Account id")->required();
  key_create->add_option("--user", f->user, "RAM user (default: the account's root identity)");
  Leaf(key, "list", "List an account's AccessKeys", f, run, KeyList, kReads)
      ->add_option("--account", f->account, "Account id")
      ->required();
  Leaf(
      key, "disable", "Disable an AccessKey", f, run,
      [](Runtime& rt, const AdminFlags& fl, const audit::Actor& by) {
        return KeySetEnabled(rt, fl, by, false);
      },
      kChanges)
      ->add_option("--id", f->key_id, "AccessKeyId")
      ->required();
  Leaf(
      key, "enable", "Enable an AccessKey", f, run,
      [](Runtime& rt, const AdminFlags& fl, const audit::Actor& by) {
        return KeySetEnabled(rt, fl, by, true);
      },
      kChanges)
      ->add_option("--id", f->key_id, "AccessKeyId")
      ->required();

  CLI::App* user = admin->add_subcommand("user", "RAM users")->require_subcommand(1);
  for (auto [name, help, body] :
       {std::tuple{"create", "Create a RAM user", &UserCreate},
        std::tuple{"delete", "Delete a RAM user with its keys", &UserDelete}}) {
    CLI::App* cmd = Leaf(user, name, help, f, run, body, kChanges);
    cmd->add_option("--account", f->account, "Account id")->required();
    cmd->add_option("--name", f->user, "User name")->required();
  }
  Leaf(user, "list", "List an account's RAM users", f, run, UserList, kReads)
      ->add_option("--account", f->account, "Account id")
      ->required();

  CLI::App* policy = admin->add_subcommand("policy", "RAM policies")->require_subcommand(1);
  CLI::App* create =
      Leaf(policy, "create", "Create a custom policy (validated)", f, run, PolicyCreate, kChanges);
  create->add_option("--account", f->account, "Account id")->required();
  create->add_option("--name", f->policy, "Policy name")->required();
  create->add_option("--document", f->document, "Policy JSON file, or - for stdin")->required();
  Leaf(policy, "list", "List an account's custom policies", f, run, PolicyList, kReads)
      ->add_option("--account", f->account, "Account id")
      ->required();
  for (auto [name, help, body] :
       {std::tuple{"attach", "Attach a policy to a user", &PolicyAttach},
        std::tuple{"detach", "Detach a policy from a user", &PolicyDetach}}) {
    CLI::App* cmd = Leaf(policy, name, help, f, run, body, kChanges);
    cmd->add_option("--account", f->account, "Account id")->required();
    cmd->add_option("--user", f->user, "User name")->required();
    cmd->add_option("--policy", f->policy,
                    "Policy name (custom, or AliyunYundunCertReadOnlyAccess / "
                    "AliyunYundunCertFullAccess)")
        ->required();
  }

  CLI::App* plan =
      admin->add_subcommand("plan", "Certificate resource plans")->require_subcommand(1);
  CLI::App* grant =
      Leaf(plan, "grant", "Grant certificates of a ProductCode", f, run, PlanGrant, kChanges);
  grant->add_option("--account", f->account, "Account id")->required();
  grant->add_option("--product", f->product, "ProductCode")->required();
  grant->add_option("--count", f->count, "Number of certificates")->required();
  grant->add_option("--expires", f->expires, "Expiry, RFC 3339");
  Leaf(plan, "list", "List an account's plans", f, run, PlanList, kReads)
      ->add_option("--account", f->account, "Account id")
      ->required();
}

}  // namespace certplan::cli
