#include "workload/verify.h"

namespace pgk::workload {

Result<InvariantReport> VerifyInvariant(pg::Connection& conn) {
  InvariantReport r;
  // One snapshot, so that a workload running concurrently cannot produce false alarms.
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn, "ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PGK_ASSIGN_OR_RETURN(auto counts, conn.Query("SELECT (SELECT count(*) FROM positions), (SELECT count(*) FROM "
                                               "position_events), (SELECT count(*) FROM ledger_events)"));
  r.positions = counts.GetInt(0, 0);
  r.position_events = counts.GetInt(0, 1);
  r.ledger_events = counts.GetInt(0, 2);

  PGK_ASSIGN_OR_RETURN(auto mismatch, conn.Query(R"sql(
    SELECT p.id FROM positions p
      LEFT JOIN (SELECT position_id, count(*) AS n FROM position_events GROUP BY position_id) e ON e.position_id = p.id
     WHERE coalesce(e.n, 0) <> p.state_version)sql"));
  r.count_mismatches = mismatch.rows();
  for (int i = 0; i < mismatch.rows() && r.examples.size() < 5; ++i) r.examples.push_back(mismatch.GetString(i, 0));

  PGK_ASSIGN_OR_RETURN(auto chains, conn.Query(R"sql(
    WITH e AS (
      SELECT position_id, (metadata->>'seq')::int AS seq, from_state, to_state,
             lag(to_state) OVER w AS prev_to, row_number() OVER w AS rn,
             count(*) OVER (PARTITION BY position_id) AS n
        FROM position_events
      WINDOW w AS (PARTITION BY position_id ORDER BY (metadata->>'seq')::int))
    SELECT DISTINCT e.position_id FROM e JOIN positions p ON p.id = e.position_id
     WHERE e.seq IS DISTINCT FROM e.rn
        OR (e.rn = 1 AND e.from_state IS DISTINCT FROM 'pending')
        OR (e.rn > 1 AND e.from_state IS DISTINCT FROM e.prev_to)
        OR (e.rn = e.n AND e.to_state IS DISTINCT FROM p.state)
    UNION
    SELECT id FROM positions WHERE state_version = 0 AND state <> 'pending')sql"));
  r.broken_chains = chains.rows();
  for (int i = 0; i < chains.rows() && r.examples.size() < 5; ++i) r.examples.push_back(chains.GetString(i, 0));

  PGK_ASSIGN_OR_RETURN(auto ledger, conn.Query(R"sql(
    SELECT
      (SELECT count(*) FROM ledger_events l
        WHERE l.kind = 'position.state_changed'
          AND NOT EXISTS (SELECT 1 FROM position_events e
                           WHERE e.id = l.payload->>'position_event_id' AND e.position_id = l.position_id
                             AND e.from_state IS NOT DISTINCT FROM l.previous_state
                             AND e.to_state IS NOT DISTINCT FROM l.new_state)),
      (SELECT count(*) FROM position_events e
         LEFT JOIN (SELECT payload->>'position_event_id' AS pev, count(*) AS n FROM ledger_events
                     WHERE kind = 'position.state_changed' GROUP BY 1) l ON l.pev = e.id
        WHERE coalesce(l.n, 0) <> 1))sql"));
  r.unmatched_ledger = ledger.GetInt(0, 0);
  r.unmatched_events = ledger.GetInt(0, 1);
  PGK_RETURN_IF_ERROR(tx.Commit());
  return r;
}

}  // namespace pgk::workload
