#pragma once

#include <span>
#include <string_view>

#include "api/context.h"
#include "core/result.h"
#include "rpc/params.h"
#include "rpc/reply.h"

namespace certplan::api {

inline constexpr std::string_view kApiVersion = "2020-04-07";

using Handler = Result<rpc::Reply> (*)(Context&, const rpc::Params&);

// The RAM access levels of the API reference.
enum class AccessLevel { kGet, kList, kCreate, kUpdate, kDelete };

// One served operation: the dispatcher, the authorizer and the docs all read this table.
struct Action {
  std::string_view name;        // wire Action, e.g. "DescribePackageState"
  std::string_view ram_action;  // "yundun-cert:DescribePackageState"
  AccessLevel access_level;
  std::string_view resource;  // "*": no resource-level permissions
  Handler handler;
};

std::span<const Action> Actions();
// The action named exactly `name`, or nullptr.
const Action* FindAction(std::string_view name);
std::string_view AccessLevelName(AccessLevel level);
// Whether the action changes state (create, update, delete): its calls are audited, refusals
// by an authenticated caller included; reads (get, list) never are.
inline bool ChangesState(const Action& action) {
  return action.access_level == AccessLevel::kCreate ||
         action.access_level == AccessLevel::kUpdate || action.access_level == AccessLevel::kDelete;
}

}  // namespace certplan::api
