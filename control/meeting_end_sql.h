/* The SQL that ends live meetings the control plane finds gone with their node (a lost node,
 * a node registering after a restart): CTEs m (the meetings ended), ev (their meeting.ended
 * events), pa (whoever was present leaves), c and s (conference and session end times).
 * The node's load is the caller's to adjust. */
#ifndef PARLEY_CTL_MEETING_END_SQL_H
#define PARLEY_CTL_MEETING_END_SQL_H

#include "outbox_sql.h"

/* where: an SQL condition on meetings' columns; by: the ended_by text literal. */
#define MEETINGS_END_CTES(where, by)                                                          \
    " m AS (UPDATE meetings SET status = 'ended', ended_at = now(), ended_by = " by           \
    "  WHERE status = 'live' AND (" where ")"                                                 \
    "  RETURNING id, node_id, participants, conference_id, session_id, tenant_id, ended_by)," \
    " ev AS (" OUTBOX_EVENT("'meeting.ended'", "m.tenant_id",                                 \
                            "jsonb_build_object('meeting_id', m.id, 'ended_by', m.ended_by)", \
                            "m") "),"                                                         \
    " pa AS (UPDATE participants SET left_at = now()"                                         \
    "  WHERE left_at IS NULL AND meeting_id IN (SELECT id FROM m)),"                          \
    " c AS (UPDATE conferences SET end_time = now(), updated_at = now()"                      \
    "  WHERE id IN (SELECT conference_id FROM m)),"                                           \
    " s AS (UPDATE sessions SET end_time = now() WHERE id IN (SELECT session_id FROM m))"

#endif
