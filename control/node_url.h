/* The node's HTTP base URL from the signaling URL it registered (node_url.c). */
#ifndef PARLEY_CTL_NODE_URL_H
#define PARLEY_CTL_NODE_URL_H
#include <stdbool.h>
#include <stddef.h>

/* "ws://host:port/path" → "http://host:port", "wss://…" → "https://…" (path, query and
 * fragment dropped). False for any other scheme, an empty host, a user part ('@'), a character
 * outside printable ASCII, or when the result does not fit in outlen. */
bool ctl_node_http_base(const char *signaling_url, char *out, size_t outlen);

#endif
