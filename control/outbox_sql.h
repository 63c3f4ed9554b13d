/* The SQL that writes outbound events to the outbox inside the statement making the change,
 * so an event exists exactly when its change committed. One row per webhook endpoint of the
 * tenant; the body is the Standard Webhooks shape {"type", "timestamp", "data"}. */
#ifndef PARLEY_CTL_OUTBOX_SQL_H
#define PARLEY_CTL_OUTBOX_SQL_H

/* A query (for a CTE): type_expr and data_expr are SQL expressions over `from`; tenant_expr
 * names the tenant the event belongs to. */
#define OUTBOX_EVENT(type_expr, tenant_expr, data_expr, from)                                \
    "INSERT INTO outbox (tenant_id, kind, event_type, endpoint_id, payload)"                 \
    " SELECT e.tenant_id, 'webhook', " type_expr ", e.id, jsonb_build_object('type', "      \
    type_expr ", 'timestamp', now(), 'data', " data_expr ") FROM " from                      \
    " JOIN webhook_endpoints e ON e.tenant_id = " tenant_expr

#endif
