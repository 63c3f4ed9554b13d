/* What Janus (its JSON API over the WebSocket transport, subprotocol "janus-protocol") sends a
 * client of its VideoRoom plugin, reduced to the fields parley-client uses (docs/client.md,
 * "Janus"). Parsed by client/janus_msg.c; no network. */
#ifndef PARLEY_JANUS_MSG_H
#define PARLEY_JANUS_MSG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pl_janus_type {
    PL_JANUS_SUCCESS = 1,       /* "success": create / attach (data.id) or a synchronous plugin answer */
    PL_JANUS_ACK,               /* "ack": an asynchronous request was taken */
    PL_JANUS_EVENT,             /* "event": a plugin event (plugindata, maybe a jsep) */
    PL_JANUS_ERROR,             /* "error": the core refused a request (error.code, error.reason) */
    PL_JANUS_WEBRTCUP,          /* the PeerConnection is up */
    PL_JANUS_MEDIA,             /* media started or stopped flowing on a line */
    PL_JANUS_HANGUP,            /* the PeerConnection went away (reason) */
    PL_JANUS_SLOWLINK,          /* Janus saw loss (NACKs) */
    PL_JANUS_DETACHED,          /* the handle is gone */
    PL_JANUS_TIMEOUT,           /* the session expired */
    PL_JANUS_OTHER,             /* anything else with a "janus" field (trickle, server_info, ...) */
};

struct pl_janus_msg {
    enum pl_janus_type type;
    char transaction[64];       /* "" when absent (notifications) */
    uint64_t session_id, sender; /* 0 when absent */
    uint64_t data_id;           /* success of create / attach: the new session or handle id */
    int error_code;             /* core error.code or plugin error_code; 0 when none */
    char error[256];            /* core error.reason or plugin error (cut to fit) */
    /* plugindata.data of the VideoRoom: */
    char videoroom[32];         /* "created", "joined", "event", "attached", "updated", ...; "" when none */
    uint64_t room, id;          /* data.room, data.id (the publisher's own feed id on "joined") */
    bool configured_ok;         /* data.configured == "ok" (publish answered) */
    bool started_ok;            /* data.started == "ok" (subscriber started) */
    uint64_t leaving, unpublished; /* feed ids named by those notifications; 0 when none */
    char reason[128];           /* hangup */
    /* jsep: */
    char jsep_type[8];          /* "offer" or "answer"; "" when none */
    char *sdp;                  /* malloc'd when jsep_type is set */
    size_t sdp_len;
};

/* Parses one message. 0 ok (free with pl_janus_msg_free), -1 with err otherwise: not JSON, not
 * an object, no "janus" string, ids that are not non-negative integers, a jsep without a
 * string sdp or with a type other than offer/answer, strings too long for their field
 * (transaction, videoroom) or an SDP over 512 KB. */
int pl_janus_msg_parse(const char *text, size_t len, struct pl_janus_msg *out, char *err,
                       size_t errlen);
void pl_janus_msg_free(struct pl_janus_msg *m);

#endif
