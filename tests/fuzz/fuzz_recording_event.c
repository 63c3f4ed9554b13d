/* libFuzzer target for control/recording_event.c: the node's recording-started webhook body.
 * Whatever is accepted must satisfy the contract it promises (ids usable as folders, every
 * field a string without NUL). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/control_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s)
{
    if (!s || strlen(s) > PL_EVENT_TEXT_MAX)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    memcpy(copy, data, size);
    struct pl_recording_started ev;
    json_t *root = pl_recording_started_parse(copy, size, &ev);
    if (root) {
        const char *ids[] = {ev.recording_id, ev.conference_id, ev.tenant_id, ev.session_id};
        for (int i = 0; i < 4; i++)
            if (!ids[i] || !pl_event_safe_id(ids[i]) || strstr(ids[i], "..") || strchr(ids[i], '/'))
                abort();
        check_text(ev.recording_url);
        check_text(ev.title);
        check_text(ev.start_time);
        check_text(ev.host_user_id);
        check_text(ev.host_user_name);
        if (ev.tenant_name)
            check_text(ev.tenant_name);
        json_decref(root);
    } else if (ev.recording_id || ev.tenant_name) {
        abort(); /* a refusal leaves nothing behind */
    }
    free(copy);
    return 0;
}
