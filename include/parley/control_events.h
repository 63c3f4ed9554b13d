/* Inbound events of the control plane that need more than JSON syntax: the node's
 * recording-started webhook body (the original contract), validated in one place so that it
 * can be fuzzed apart from the database. */
#ifndef PARLEY_CONTROL_EVENTS_H
#define PARLEY_CONTROL_EVENTS_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PL_EVENT_ID_MAX 64      /* ids become folders: [A-Za-z0-9_-]{1,64} */
#define PL_EVENT_TEXT_MAX 2048  /* other strings */

struct pl_recording_started {
    /* Point into the returned JSON; valid until it is released. tenant_name may be NULL. */
    const char *recording_id, *conference_id, *tenant_id, *session_id, *recording_url, *title,
        *start_time, *host_user_id, *host_user_name, *tenant_name;
};

/* {"event":"recording.started","data":{...}}: every field a string without NUL, the four ids
 * safe path components, tenant_name optional (string or null). Returns the parsed JSON (the
 * caller releases it with json_decref) or NULL when the body is not acceptable. */
json_t *pl_recording_started_parse(const char *body, size_t len, struct pl_recording_started *out);

/* [A-Za-z0-9_-]{1,PL_EVENT_ID_MAX} */
bool pl_event_safe_id(const char *s);

#endif
