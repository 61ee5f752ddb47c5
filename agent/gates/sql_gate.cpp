#include "agent/gates/sql_gate.hpp"

#include <string_view>

#include "agent/gates/evaluation.hpp"
#include "agent/gates/gate_error.hpp"
#include "agent/gates/pg_session.hpp"

namespace cutover::gates {

namespace {

constexpr Oid kBoolOid = 16;

// Long queries are cut so a detail stays one readable line.
std::string Shortened(const std::string& query) {
  constexpr std::size_t kMax = 120;
  return query.size() <= kMax ? query : query.substr(0, kMax) + "...";
}

}  // namespace

SqlGate::SqlGate(std::string dsn, std::string query, std::chrono::milliseconds timeout)
    : dsn_(std::move(dsn)), query_(std::move(query)), timeout_(timeout) {}

GateOutcome SqlGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    const Deadline deadline(timeout_, context.cancel);
    PgSession session(dsn_, deadline);
    PgResult result = session.QueryReadOnly(query_);
    const std::string said = "\"" + Shortened(query_) + "\" on " + session.redacted_dsn();
    GateOutcome outcome;
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQnfields(result.get()) < 1) {
      outcome.detail = said + " returned no value (it must be a query returning true)";
    } else if (PQntuples(result.get()) == 0) {
      outcome.detail = said + " returned no rows (it must return true)";
    } else if (PQgetisnull(result.get(), 0, 0) != 0) {
      outcome.detail = said + " returned NULL (it must return true)";
    } else if (PQftype(result.get(), 0) != kBoolOid) {
      // Said by type, never quoted: a query must not read data out through
      // the detail ("select current_user || version()").
      outcome.detail = said + " returned a value of type " + PgSession::TypeName(*result, 0) +
                       ", not a boolean (it must return true)";
    } else {
      outcome.passed = std::string_view(PQgetvalue(result.get(), 0, 0)) == "t";
      outcome.detail = said + " returned " + (outcome.passed ? "true" : "false");
    }
    return outcome;
  });
}

}  // namespace cutover::gates
