#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <libpq-fe.h>

#include "core/free_with.h"
#include "core/result.h"

namespace certplan::store::postgres {

using PgConnPtr = std::unique_ptr<PGconn, FreeWith<&PQfinish>>;
using PgResultPtr = std::unique_ptr<PGresult, FreeWith<&PQclear>>;

// A statement parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

// One statement of a pipeline: its text and text parameters.
struct Statement {
  std::string_view sql;
  std::vector<Param> params;
};

// One libpq connection. Serves one thread at a time.
class PgConnection {
 public:
  // kServiceUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<PgConnection>> Open(const std::string& url);

  // Runs `sql` with text parameters ($1, $2, …). Maps failures: unique violation →
  // kInvalidParameter-ready `sqlstate()` check by callers; connection loss and shutdown →
  // kServiceUnavailable; anything else → kInternal with the server's text in the detail.
  Result<PgResultPtr> Exec(std::string_view sql, const std::vector<Param>& params = {});
  // As Exec, but planned for these very values every time (never prepared): for statements
  // whose best plan depends on them (a LIMIT/OFFSET page), where a generic plan could not know.
  Result<PgResultPtr> ExecPlanned(std::string_view sql, const std::vector<Param>& params);
  // Runs the statements (each prepared once per connection, as Exec) in one pipeline: one round
  // trip, and one implicit transaction that commits after the last statement only if every
  // statement succeeded. The results in order once that commit is durable (as
  // synchronous_commit says), or the first failure mapped as Exec maps it, with nothing kept.
  Result<std::vector<PgResultPtr>> ExecPipeline(const std::vector<Statement>& batch);
  bool healthy() const { return !broken_ && PQstatus(conn_.get()) == CONNECTION_OK; }
  // SQLSTATE of the last failed Exec ("23505" unique violation, …), empty after success.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  explicit PgConnection(PgConnPtr conn) : conn_(std::move(conn)) {}
  // The result of a statement, or its failure mapped as Exec documents.
  Result<PgResultPtr> Finish(PgResultPtr res);
  // The prepared statement's name for `sql`, preparing it first if needed.
  Result<std::string> Prepared(const std::string& sql, int params);
  PgConnPtr conn_;
  std::string sqlstate_;
  bool broken_ = false;  // left in an unknown protocol state: never reused
  std::unordered_map<std::string, std::string> prepared_;  // statement text -> name
};

// Field accessors on a result row.
std::string Text(const PGresult* res, int row, int col);
int64_t Int(const PGresult* res, int row, int col);
std::optional<int64_t> OptionalInt(const PGresult* res, int row, int col);

}  // namespace certplan::store::postgres
