/* Messages from Janus (its JSON API, VideoRoom plugin): JSON text -> struct pl_janus_msg.
 * Unknown fields are ignored (Janus adds fields between versions); the ones kept must have
 * the expected type, so a bad message is refused rather than half read. */
#include "parley/janus_msg.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT (1024 * 1024)
#define MAX_SDP (512 * 1024)

static const struct {
    const char *name;
    enum pl_janus_type type;
} types[] = {
    {"success", PL_JANUS_SUCCESS},   {"ack", PL_JANUS_ACK},           {"event", PL_JANUS_EVENT},
    {"error", PL_JANUS_ERROR},       {"webrtcup", PL_JANUS_WEBRTCUP}, {"media", PL_JANUS_MEDIA},
    {"hangup", PL_JANUS_HANGUP},     {"slowlink", PL_JANUS_SLOWLINK}, {"detached", PL_JANUS_DETACHED},
    {"timeout", PL_JANUS_TIMEOUT},
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

/* An optional id: absent or null leaves 0; otherwise a non-negative integer. */
static int get_u64(json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(err, errlen, "\"%s\" is not a non-negative integer", key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* An optional string copied into dst (cap bytes): too long is an error when strict, else cut. */
static int get_str(json_t *obj, const char *key, char *dst, size_t cap, bool strict, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return fail(err, errlen, "\"%s\" is not a string", key);
    size_t n = json_string_length(v);
    if (n >= cap) {
        if (strict)
            return fail(err, errlen, "\"%s\" longer than %zu characters", key, cap - 1);
        n = cap - 1;
    }
    memcpy(dst, json_string_value(v), n);
    dst[n] = 0;
    if (memchr(dst, 0, n))
        return fail(err, errlen, "\"%s\" contains NUL", key);
    return 0;
}

static bool is_ok(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) && strcmp(json_string_value(v), "ok") == 0;
}

/* plugindata.data of the VideoRoom (any plugin's data is read the same way). */
static int parse_plugin(json_t *pd, struct pl_janus_msg *m, char *err, size_t errlen)
{
    if (!json_is_object(pd))
        return fail(err, errlen, "\"plugindata\" is not an object");
    json_t *data = json_object_get(pd, "data");
    if (!json_is_object(data))
        return fail(err, errlen, "\"plugindata.data\" missing or not an object");
    if (get_str(data, "videoroom", m->videoroom, sizeof m->videoroom, true, err, errlen) != 0 ||
        get_u64(data, "room", &m->room, err, errlen) != 0 ||
        get_u64(data, "id", &m->id, err, errlen) != 0 ||
        get_str(data, "error", m->error, sizeof m->error, false, err, errlen) != 0)
        return -1;
    json_t *code = json_object_get(data, "error_code");
    if (code) {
        if (!json_is_integer(code) || json_integer_value(code) < 0 || json_integer_value(code) > 1000000)
            return fail(err, errlen, "\"error_code\" is not a small integer");
        m->error_code = (int)json_integer_value(code);
    }
    m->configured_ok = is_ok(data, "configured");
    m->started_ok = is_ok(data, "started");
    /* "leaving" may be "ok" (our own leave) or the feed id of someone else. */
    json_t *lv = json_object_get(data, "leaving");
    if (json_is_integer(lv) && json_integer_value(lv) > 0)
        m->leaving = (uint64_t)json_integer_value(lv);
    json_t *up = json_object_get(data, "unpublished");
    if (json_is_integer(up) && json_integer_value(up) > 0)
        m->unpublished = (uint64_t)json_integer_value(up);
    return 0;
}

static int parse_jsep(json_t *jsep, struct pl_janus_msg *m, char *err, size_t errlen)
{
    if (!json_is_object(jsep))
        return fail(err, errlen, "\"jsep\" is not an object");
    json_t *type = json_object_get(jsep, "type"), *sdp = json_object_get(jsep, "sdp");
    if (!json_is_string(type) ||
        (strcmp(json_string_value(type), "offer") != 0 && strcmp(json_string_value(type), "answer") != 0))
        return fail(err, errlen, "jsep type must be \"offer\" or \"answer\"");
    if (!json_is_string(sdp) || json_string_length(sdp) == 0 || json_string_length(sdp) > MAX_SDP)
        return fail(err, errlen, "jsep sdp missing, empty or over %d bytes", MAX_SDP);
    size_t n = json_string_length(sdp);
    if (memchr(json_string_value(sdp), 0, n))
        return fail(err, errlen, "jsep sdp contains NUL");
    m->sdp = malloc(n + 1);
    if (!m->sdp)
        return fail(err, errlen, "out of memory");
    memcpy(m->sdp, json_string_value(sdp), n + 1);
    m->sdp_len = n;
    snprintf(m->jsep_type, sizeof m->jsep_type, "%s", json_string_value(type));
    return 0;
}

int pl_janus_msg_parse(const char *text, size_t len, struct pl_janus_msg *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (len > MAX_TEXT)
        return fail(err, errlen, "message over %d bytes", MAX_TEXT);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(err, errlen, "not JSON: %s", je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        fail(err, errlen, "not a JSON object");
        goto out;
    }
    json_t *janus = json_object_get(root, "janus");
    if (!json_is_string(janus)) {
        fail(err, errlen, "\"janus\" missing or not a string");
        goto out;
    }
    m->type = PL_JANUS_OTHER;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(json_string_value(janus), types[i].name) == 0)
            m->type = types[i].type;
    if (get_str(root, "transaction", m->transaction, sizeof m->transaction, true, err, errlen) != 0 ||
        get_u64(root, "session_id", &m->session_id, err, errlen) != 0 ||
        get_u64(root, "sender", &m->sender, err, errlen) != 0 ||
        get_str(root, "reason", m->reason, sizeof m->reason, false, err, errlen) != 0)
        goto out;
    json_t *data = json_object_get(root, "data");
    if (m->type == PL_JANUS_SUCCESS && data) {
        if (!json_is_object(data)) {
            fail(err, errlen, "\"data\" is not an object");
            goto out;
        }
        if (get_u64(data, "id", &m->data_id, err, errlen) != 0)
            goto out;
    }
    json_t *e = json_object_get(root, "error");
    if (m->type == PL_JANUS_ERROR) {
        json_t *code = json_object_get(e, "code");
        if (!json_is_object(e) || !json_is_integer(code) || json_integer_value(code) < 0 ||
            json_integer_value(code) > 1000000) {
            fail(err, errlen, "\"error\" must be an object with an integer code");
            goto out;
        }
        m->error_code = (int)json_integer_value(code);
        if (get_str(e, "reason", m->error, sizeof m->error, false, err, errlen) != 0)
            goto out;
    }
    json_t *pd = json_object_get(root, "plugindata");
    if (pd && parse_plugin(pd, m, err, errlen) != 0)
        goto out;
    json_t *jsep = json_object_get(root, "jsep");
    if (jsep && parse_jsep(jsep, m, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    if (rc != 0)
        pl_janus_msg_free(m);
    return rc;
}

void pl_janus_msg_free(struct pl_janus_msg *m)
{
    free(m->sdp);
    m->sdp = NULL;
    m->sdp_len = 0;
}
