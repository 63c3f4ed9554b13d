/* Packets from the node (docs/protocol.md, "Node -> client"): JSON text -> struct pl_node_msg.
 * Strict about shape and sizes, since a client may talk to a node it does not trust. */
#include "parley/client_media.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT (1024 * 1024) /* an answer for 49 + 49 slots is ~100 KB */

static const struct {
    const char *name;
    enum pl_node_msg_type type;
} types[] = {
    {"MEETING_USERS", PL_NODE_MEETING_USERS}, {"JOIN", PL_NODE_JOIN},
    {"LEAVE", PL_NODE_LEAVE},                 {"END", PL_NODE_END},
    {"JOIN_DENIED", PL_NODE_JOIN_DENIED},     {"ERROR", PL_NODE_ERROR},
    {"ANSWER", PL_NODE_ANSWER},               {"SLOTS", PL_NODE_SLOTS},
    {"RECORDING", PL_NODE_RECORDING},         {"ACTIVE_SPEAKER", PL_NODE_ACTIVE_SPEAKER},
};

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copies a string field of 1..cap-1 bytes. */
static int get_id(json_t *obj, const char *key, char *dst, size_t cap, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return fail(err, errlen, "\"%s\" missing or not a string", key);
    size_t n = json_string_length(v);
    if (n == 0 || n >= cap)
        return fail(err, errlen, "\"%s\" must have 1..%zu characters", key, cap - 1);
    memcpy(dst, json_string_value(v), n + 1);
    if (memchr(dst, 0, n))
        return fail(err, errlen, "\"%s\" contains NUL", key);
    return 0;
}

static int parse_users(json_t *root, struct pl_node_msg *m, char *err, size_t errlen)
{
    json_t *users = json_object_get(root, "users");
    if (!json_is_array(users))
        return fail(err, errlen, "\"users\" missing or not an array");
    size_t n = json_array_size(users);
    if (n > PL_NODE_MSG_MAX_USERS)
        return fail(err, errlen, "more than %d users", PL_NODE_MSG_MAX_USERS);
    m->users = calloc(n ? n : 1, sizeof *m->users);
    if (!m->users)
        return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *u = json_array_get(users, i);
        size_t len = json_string_length(u);
        if (!json_is_string(u) || len == 0 || len > 128 || memchr(json_string_value(u), 0, len))
            return fail(err, errlen, "users[%zu] is not an id", i);
        memcpy(m->users[i], json_string_value(u), len + 1);
        m->n_users++;
    }
    return 0;
}

static int parse_slots(json_t *root, struct pl_node_msg *m, char *err, size_t errlen)
{
    json_t *slots = json_object_get(root, "slots");
    if (!json_is_array(slots))
        return fail(err, errlen, "\"slots\" missing or not an array");
    size_t n = json_array_size(slots);
    if (n > PL_NODE_MSG_MAX_SLOTS)
        return fail(err, errlen, "more than %d slots", PL_NODE_MSG_MAX_SLOTS);
    m->slots = calloc(n ? n : 1, sizeof *m->slots);
    if (!m->slots)
        return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(slots, i);
        struct pl_node_slot *d = &m->slots[i];
        char kind[8];
        if (!json_is_object(s))
            return fail(err, errlen, "slots[%zu] is not an object", i);
        if (get_id(s, "mid", d->mid, sizeof d->mid, err, errlen) ||
            get_id(s, "kind", kind, sizeof kind, err, errlen) ||
            get_id(s, "account_id", d->account_id, sizeof d->account_id, err, errlen))
            return -1;
        if (strcmp(kind, "video") != 0 && strcmp(kind, "audio") != 0)
            return fail(err, errlen, "slots[%zu]: kind must be audio or video", i);
        d->video = kind[0] == 'v';
        m->n_slots++;
    }
    return 0;
}

static int parse_fields(json_t *root, struct pl_node_msg *m, char *err, size_t errlen)
{
    json_t *v;
    switch (m->type) {
    case PL_NODE_MEETING_USERS:
        return parse_users(root, m, err, errlen);
    case PL_NODE_JOIN:
    case PL_NODE_LEAVE:
    case PL_NODE_ACTIVE_SPEAKER:
        return get_id(root, "account_id", m->account_id, sizeof m->account_id, err, errlen);
    case PL_NODE_ERROR:
        v = json_object_get(root, "msg");
        if (!json_is_string(v))
            return fail(err, errlen, "\"msg\" missing or not a string");
        snprintf(m->msg, sizeof m->msg, "%s", json_string_value(v));
        return 0;
    case PL_NODE_ANSWER:
        v = json_object_get(root, "sdp");
        if (!json_is_string(v) || json_string_length(v) == 0)
            return fail(err, errlen, "\"sdp\" missing or not a string");
        m->sdp_len = json_string_length(v);
        m->sdp = malloc(m->sdp_len + 1);
        if (!m->sdp)
            return fail(err, errlen, "out of memory");
        memcpy(m->sdp, json_string_value(v), m->sdp_len + 1);
        return 0;
    case PL_NODE_SLOTS:
        return parse_slots(root, m, err, errlen);
    case PL_NODE_RECORDING:
        v = json_object_get(root, "recording");
        if (!json_is_boolean(v))
            return fail(err, errlen, "\"recording\" missing or not a boolean");
        m->recording = json_is_true(v);
        return 0;
    case PL_NODE_END:
    case PL_NODE_JOIN_DENIED:
        return 0;
    }
    return fail(err, errlen, "unknown packet");
}

int pl_node_msg_parse(const char *text, size_t len, struct pl_node_msg *m, char *err,
                      size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (len > MAX_TEXT)
        return fail(err, errlen, "packet of %zu bytes is too big", len);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(err, errlen, "not JSON: %s", je.text);
    int rc = -1;
    json_t *ct = json_object_get(root, "content_type");
    if (!json_is_object(root)) {
        fail(err, errlen, "not a JSON object");
        goto out;
    }
    if (!json_is_string(ct)) {
        fail(err, errlen, "\"content_type\" missing or not a string");
        goto out;
    }
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(json_string_value(ct), types[i].name) == 0)
            m->type = types[i].type;
    if (!m->type) {
        fail(err, errlen, "unknown content_type");
        goto out;
    }
    if (get_id(root, "meeting_id", m->meeting_id, sizeof m->meeting_id, err, errlen) != 0)
        goto out;
    rc = parse_fields(root, m, err, errlen);
out:
    json_decref(root);
    if (rc != 0)
        pl_node_msg_free(m);
    return rc;
}

void pl_node_msg_free(struct pl_node_msg *m)
{
    free(m->sdp);
    free(m->users);
    free(m->slots);
    m->sdp = NULL;
    m->users = NULL;
    m->slots = NULL;
    m->n_users = m->n_slots = 0;
}
