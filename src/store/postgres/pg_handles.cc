#include "store/postgres/pg_handles.h"

#include <cstdlib>
#include <optional>

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
  if (params.empty()) return Finish(PgResultPtr(PQexec(conn_.get(), text.c_str())));
  Result<std::string> name = Prepared(text, static_cast<int>(params.size()));
  if (!name) return name.error();
  return Finish(
      PgResultPtr(PQexecPrepared(conn_.get(), name->c_str(), static_cast<int>(params.size()),
                                 values.data(), nullptr, nullptr, 0)));
}

Result<std::string> PgConnection::Prepared(const std::string& sql, int params) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  // Appended, not `"s" + std::to_string(…)`, which GCC 12 wrongly flags (-Wrestrict).
  std::string name = "s";
  name += std::to_string(prepared_.size());
  PgResultPtr prep(PQprepare(conn_.get(), name.c_str(), sql.c_str(), params, nullptr));
  Result<PgResultPtr> prepared = Finish(std::move(prep));
  if (!prepared) return prepared.error();
  prepared_.emplace(sql, name);
  return name;
}

Result<std::vector<PgResultPtr>> PgConnection::ExecPipeline(const std::vector<Statement>& batch) {
  sqlstate_.clear();
  std::vector<PgResultPtr> results;
  if (batch.empty()) return results;
  std::vector<std::string> names;  // prepared before the pipeline starts
  names.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Statement& s = batch[i];
    if (i > 0 && s.sql.data() == batch[i - 1].sql.data() && s.sql == batch[i - 1].sql) {
      names.push_back(names.back());  // the same statement again (a batch of one kind)
      continue;
    }
    Result<std::string> name = Prepared(std::string(s.sql), static_cast<int>(s.params.size()));
    if (!name) return name.error();
    names.push_back(std::move(*name));
  }
  PGconn* c = conn_.get();
  if (PQenterPipelineMode(c) != 1) return Finish(nullptr).error();
  // Statements up to the sync run in one implicit transaction, committed at the sync; after a
  // failure the server skips the rest and rolls the transaction back.
  std::optional<Error> failure;
  std::vector<const char*> values;
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::vector<Param>& params = batch[i].params;
    values.clear();
    for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryPrepared(c, names[i].c_str(), static_cast<int>(params.size()), values.data(),
                            nullptr, nullptr, 0) != 1) {
      failure = Finish(nullptr).error();
      break;
    }
  }
  // The sync ends the transaction (a commit, or the rollback of a failed one), even after a
  // failed send, so the connection comes back to idle.
  bool synced = false;
  if (PQpipelineSync(c) == 1) {
    // Each statement answers one result then a NULL; the sync answers PGRES_PIPELINE_SYNC.
    int nulls = 0;
    while (!synced && nulls < 2) {
      PgResultPtr res(PQgetResult(c));
      if (!res) {
        ++nulls;
        continue;
      }
      nulls = 0;
      switch (PQresultStatus(res.get())) {
        case PGRES_PIPELINE_SYNC: synced = true; break;
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK: results.push_back(std::move(res)); break;
        case PGRES_PIPELINE_ABORTED:
          if (!failure) failure = InternalError("postgres: pipeline aborted");
          break;
        default:
          if (!failure) failure = Finish(std::move(res)).error();  // keeps its SQLSTATE
          break;
      }
    }
  }
  if (!synced || PQexitPipelineMode(c) != 1) {
    broken_ = true;  // its state is unknown: dropped, never reused
    if (!failure) failure = Finish(nullptr).error();
  }
  if (!failure && results.size() != batch.size()) {
    failure = InternalError("postgres: pipeline answered " + std::to_string(results.size()) +
                            " of " + std::to_string(batch.size()) + " statements");
  }
  if (failure) return *failure;
  return results;
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
