#include "store/postgres/pg_handles.h"

#include <cstdlib>

namespace certplan::store::postgres {

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& url) {
  PgConnPtr conn(PQconnectdb(url.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Error(
        ErrorCode::kServiceUnavailable, "The store is not available.",
        std::string("postgres connect: ") + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  // Server notices ("already exists, skipping") are not errors and would only clutter stderr.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(std::move(conn)));
}

Result<PgResultPtr> PgConnection::Exec(std::string_view sql, const std::vector<Param>& params) {
  sqlstate_.clear();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  // Without parameters the simple protocol runs scripts of several statements (migrations).
  // With parameters, each distinct statement is prepared once per connection: parsing and
  // planning the 30-column order statements on every call cost more than executing them.
  PgResultPtr res;
  if (params.empty()) {
    res.reset(PQexec(conn_.get(), text.c_str()));
  } else {
    auto it = prepared_.find(text);
    if (it == prepared_.end()) {
      const std::string name = "s" + std::to_string(prepared_.size());
      PgResultPtr prep(PQprepare(conn_.get(), name.c_str(), text.c_str(),
                                 static_cast<int>(params.size()), nullptr));
      if (prep && PQresultStatus(prep.get()) == PGRES_COMMAND_OK) {
        it = prepared_.emplace(text, name).first;
      } else {
        res = std::move(prep);  // reported below like any failure
      }
    }
    if (it != prepared_.end()) {
      res.reset(PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(params.size()),
                               values.data(), nullptr, nullptr, 0));
    }
  }
  return Finish(std::move(res));
}

Result<PgResultPtr> PgConnection::ExecPlanned(std::string_view sql,
                                              const std::vector<Param>& params) {
  sqlstate_.clear();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  PgResultPtr res(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
  return Finish(std::move(res));
}

Result<PgResultPtr> PgConnection::Finish(PgResultPtr res) {
  const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return res;
  const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  std::string detail = "postgres: ";
  detail += PQerrorMessage(conn_.get());
  // Class 08 (connection), 57P (shutdown), 53 (resources): the database, not the request.
  if (!healthy() || sqlstate_.rfind("08", 0) == 0 || sqlstate_.rfind("57P", 0) == 0 ||
      sqlstate_.rfind("53", 0) == 0) {
    return Error(ErrorCode::kServiceUnavailable, "The store is not available.", std::move(detail));
  }
  return InternalError(std::move(detail));
}

std::string Text(const PGresult* res, int row, int col) {
  return std::string(PQgetvalue(res, row, col), static_cast<size_t>(PQgetlength(res, row, col)));
}

int64_t Int(const PGresult* res, int row, int col) {
  return std::strtoll(PQgetvalue(res, row, col), nullptr, 10);
}

std::optional<int64_t> OptionalInt(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return std::nullopt;
  return Int(res, row, col);
}

}  // namespace certplan::store::postgres
