/* Calls to a node's HTTP API (node_call.c). */
#ifndef PARLEY_CTL_NODE_CALL_H
#define PARLEY_CTL_NODE_CALL_H
#include "ctl_int.h"
#include "node_url.h"

/* status: the node's HTTP status, 0 when it could not be reached; reply: its body parsed as
 * JSON (NULL when not JSON; borrowed); error: "HTTP <status>[: <the node's error>]" or why
 * it could not be reached. */
typedef void (*ctl_node_cb)(void *ctx, long status, json_t *reply, const char *error);

/* POSTs body (stolen) as JSON to base + path on the threadpool; cb runs on the loop, always
 * exactly once. */
void ctl_node_post(struct ctl *c, const char *base, const char *path, json_t *body,
                   ctl_node_cb cb, void *ctx);

#endif
