/* The node's endpoints for the control plane:
 *   POST /recordings/start  {"token", "recording_id", "conference_id", "session_id", "title",
 *                            "host_user_id", "host_user_name", "tenant_name"}
 *   POST /recordings/stop   {"token"}
 *   POST /meetings/end      {"token"}
 * The recording token is the recorder's join token (role recorder) for the meeting — what
 * RECORD_JOIN carries —, the end token a host join token for it (what END needs over
 * signaling), so the node needs no other credential: its meeting and tenant are the token's.
 * The meeting must be running on this node. Errors are {"error": "..."} with 400 (bad JSON,
 * missing fields), 401 (token), 404 (no such meeting here), 409 (already / not recording),
 * 413 (body over 16 KiB). */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parley/log.h"
#include "sig_int.h"

#define PL_REC_API_MAX_BODY (16 * 1024)

enum api_op { OP_REC_START, OP_REC_STOP, OP_MEETING_END };

struct rec_api_session {
    char *body;
    size_t len;
    bool too_big;
    enum api_op op;
};


static int reply(struct lws *wsi, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int rc = pl_http_reply(wsi, status, "application/json", text ? text : "{}", text ? strlen(text) : 2);
    free(text);
    return rc;
}

static int error(struct lws *wsi, unsigned status, const char *msg)
{
    return reply(wsi, status, json_pack("{s:s}", "error", msg));
}

/* A string field: NULL when absent; *bad when present but not a string of 1..max bytes. */
static const char *field(json_t *o, const char *key, size_t max, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return NULL;
    const char *str = json_string_value(v);
    if (!str || !*str || strlen(str) > max) {
        *bad = true;
        return NULL;
    }
    return str;
}

static int handle(struct lws *wsi, struct pl_signaling *s, struct rec_api_session *ss)
{
    json_error_t jerr;
    json_t *root = json_loadb(ss->body ? ss->body : "", ss->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return error(wsi, 400, "the body must be a JSON object");
    }
    bool bad = false;
    const char *token = field(root, "token", PL_TOKEN_MAX_LEN, &bad);
    struct pl_rec_request req = {
        .recording_id = field(root, "recording_id", 128, &bad),
        .conference_id = field(root, "conference_id", 128, &bad),
        .session_id = field(root, "session_id", 128, &bad),
        .title = field(root, "title", 150, &bad),
        .host_user_id = field(root, "host_user_id", 128, &bad),
        .host_user_name = field(root, "host_user_name", 128, &bad),
        .tenant_name = field(root, "tenant_name", 128, &bad),
    };
    int rc;
    char msg[300];
    struct pl_token tok;
    const char *secret = s->node->cfg.token_secret;
    bool start = ss->op == OP_REC_START;
    enum pl_role role = ss->op == OP_MEETING_END ? PL_ROLE_HOST : PL_ROLE_RECORDER;
    if (bad || !token || (start && (!req.recording_id || !req.conference_id || !req.session_id))) {
        rc = error(wsi, 400, !start ? "\"token\" is required"
                                    : "\"token\", \"recording_id\", \"conference_id\" and "
                                      "\"session_id\" are required strings (1 to 128 bytes)");
    } else if (pl_token_verify((const uint8_t *)secret, strlen(secret), token, strlen(token),
                               (int64_t)time(NULL), &tok, msg, sizeof msg) != PL_TOKEN_OK) {
        rc = error(wsi, 401, msg);
    } else if (tok.role != role) {
        rc = error(wsi, 401, role == PL_ROLE_HOST ? "the token must have the host role"
                                                   : "the token must have the recorder role");
    } else {
        struct pl_meeting *m = pl_meeting_find(s, tok.meeting_id);
        if (!m || m->ended) {
            rc = error(wsi, 404, "the meeting is not running on this node");
        } else if (ss->op == OP_MEETING_END) {
            /* The control plane has ended it already: the node does not report it back. */
            json_t *ok = json_pack("{s:s, s:s}", "meeting_id", m->id, "status", "ended");
            pl_meeting_end_quiet(s, m, tok.account_id);
            rc = reply(wsi, 200, ok);
        } else if (ss->op == OP_REC_STOP) {
            struct pl_participant *p = m->recorder;
            if (!p || !p->recording) {
                rc = error(wsi, 409, "the meeting is not being recorded by this node");
            } else {
                json_t *ok = json_pack("{s:s, s:s}", "meeting_id", m->id, "status", "stopping");
                pl_meeting_leave(s, p);
                rc = reply(wsi, 202, ok);
            }
        } else {
            req.tenant_id = tok.tenant_id;
            int status = pl_recording_start(s, m, &req, msg, sizeof msg);
            rc = status ? error(wsi, (unsigned)status, msg)
                        : reply(wsi, 201, json_pack("{s:s, s:s, s:s}", "meeting_id", m->id,
                                                    "recording_id", req.recording_id, "status",
                                                    "recording"));
        }
    }
    json_decref(root);
    return rc;
}

/* The request's state hangs off the wsi (lws' opaque user data), allocated when the request
 * line arrives and freed when the body has been answered or the connection closes. */
int pl_recording_api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                              void *in, size_t len)
{
    struct rec_api_session *ss = lws_get_opaque_user_data(wsi);
    struct pl_signaling *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        (void)in; /* the path below the mount point: the whole URI says which mount */
        char uri[32];
        if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
            return error(wsi, 405, "POST only");
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_POST_URI) < 0)
            uri[0] = '\0';
        enum api_op op;
        if (strcmp(uri, "/recordings/start") == 0)
            op = OP_REC_START;
        else if (strcmp(uri, "/recordings/stop") == 0)
            op = OP_REC_STOP;
        else if (strcmp(uri, "/meetings/end") == 0)
            op = OP_MEETING_END;
        else
            return error(wsi, 404, "POST /recordings/start, /recordings/stop or /meetings/end");
        if (ss) {
            free(ss->body);
            free(ss);
        }
        ss = calloc(1, sizeof *ss);
        if (!ss)
            return error(wsi, 500, "out of memory");
        ss->op = op;
        lws_set_opaque_user_data(wsi, ss);
        return 0; /* the body follows */
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (!ss)
            return -1;
        if (ss->too_big || ss->len + len > PL_REC_API_MAX_BODY) {
            ss->too_big = true;
            return 0;
        }
        {
            char *b = realloc(ss->body, ss->len + len + 1);
            if (!b) {
                ss->too_big = true;
                return 0;
            }
            ss->body = b;
            memcpy(ss->body + ss->len, in, len);
            ss->len += len;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        if (!ss)
            return -1;
        lws_set_opaque_user_data(wsi, NULL);
        int rc = ss->too_big ? error(wsi, 413, "the body is over 16 KiB") : handle(wsi, s, ss);
        free(ss->body);
        free(ss);
        return rc;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        /* A client gone in the middle of its body. */
        if (ss) {
            lws_set_opaque_user_data(wsi, NULL);
            free(ss->body);
            free(ss);
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
