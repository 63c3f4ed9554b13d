/* The recording-started webhook body: see include/parley/control_events.h. */
#include <string.h>

#include "parley/control_events.h"

bool pl_event_safe_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PL_EVENT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* A string member without NUL, at most PL_EVENT_TEXT_MAX bytes; NULL otherwise. */
static const char *text(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) > PL_EVENT_TEXT_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

json_t *pl_recording_started_parse(const char *body, size_t len, struct pl_recording_started *out)
{
    memset(out, 0, sizeof *out);
    json_error_t e;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    json_t *data = json_object_get(root, "data");
    const char *event = text(root, "event");
    if (!json_is_object(root) || !json_is_object(data) || !event ||
        strcmp(event, "recording.started") != 0)
        goto bad;
    out->recording_id = text(data, "recording_id");
    out->conference_id = text(data, "conference_id");
    out->tenant_id = text(data, "tenant_id");
    out->session_id = text(data, "session_id");
    out->recording_url = text(data, "recording_url");
    out->title = text(data, "title");
    out->start_time = text(data, "start_time");
    out->host_user_id = text(data, "host_user_id");
    out->host_user_name = text(data, "host_user_name");
    if (!out->recording_id || !out->conference_id || !out->tenant_id || !out->session_id ||
        !out->recording_url || !out->title || !out->start_time || !out->host_user_id ||
        !out->host_user_name)
        goto bad;
    if (!pl_event_safe_id(out->recording_id) || !pl_event_safe_id(out->conference_id) ||
        !pl_event_safe_id(out->tenant_id) || !pl_event_safe_id(out->session_id))
        goto bad;
    json_t *tn = json_object_get(data, "tenant_name");
    if (tn && !json_is_null(tn) && !(out->tenant_name = text(data, "tenant_name")))
        goto bad;
    return root;
bad:
    json_decref(root);
    memset(out, 0, sizeof *out);
    return NULL;
}
