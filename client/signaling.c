/* Signaling over a libwebsockets client connection (docs/protocol.md): the join packet when
 * the socket opens, the offer once joined and the ICE candidates are gathered, subscriptions,
 * and what the node sends. Messages out wait in a queue until the socket is writable. */
#include <jansson.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "parley/log.h"
#include "parley/time.h"

#define RX_MAX (1024 * 1024)

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

static const struct lws_protocols protocols[] = {
    {"parley", callback, 0, 65536, 0, NULL, 0},
    {"janus-protocol", callback, 0, 65536, 0, NULL, 0}, /* Janus: client/janus_signaling.c */
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

const struct lws_protocols *cl_sig_protocols(void) { return protocols; }

static json_t *packet(struct pl_client *c, const char *type)
{
    return json_pack("{s:s, s:s}", "meeting_id", c->o.meeting_id, "content_type", type);
}

int cl_sig_send_json(struct pl_client *c, void *jv)
{
    json_t *j = jv;
    if (!j)
        return -1;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return -1;
    size_t n = strlen(text);
    struct sig_out *m = malloc(sizeof *m + LWS_PRE + n);
    if (!m) {
        free(text);
        return -1;
    }
    m->next = NULL;
    m->len = n;
    memcpy(m->data + LWS_PRE, text, n);
    free(text);
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void send_join(struct pl_client *c)
{
    json_t *j;
    switch (c->o.role) {
    case PL_CLIENT_HOST:
        j = packet(c, "INIT");
        json_object_set_new(j, "host", json_string(c->o.account_id));
        break;
    case PL_CLIENT_RECORDER:
        j = packet(c, "RECORD_JOIN");
        break;
    default:
        j = packet(c, "JOIN");
        json_object_set_new(j, "account_id", json_string(c->o.account_id));
    }
    json_object_set_new(j, "token", json_string(c->o.token));
    cl_sig_send_json(c, j);
}

static json_t *sub_list(const char *const *accounts, int n, int bitrate)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_t *e = json_pack("{s:s}", "account_id", accounts[i]);
        if (bitrate >= 0)
            json_object_set_new(e, "bitrate", json_integer(bitrate));
        json_array_append_new(a, e);
    }
    return a;
}

static bool subscribed(struct pl_client *c, const char *account)
{
    for (int i = 0; i < c->n_subs; i++)
        if (strcmp(c->subs[i], account) == 0)
            return true;
    return false;
}

static void remember_subs(struct pl_client *c, const char *const *accounts, int n)
{
    for (int i = 0; i < n && c->n_subs < CL_MAX_USERS; i++)
        if (!subscribed(c, accounts[i]))
            snprintf(c->subs[c->n_subs++], sizeof c->subs[0], "%s", accounts[i]);
}

static void forget_subs(struct pl_client *c, const char *const *accounts, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c->n_subs; k++)
            if (strcmp(c->subs[k], accounts[i]) == 0) {
                memmove(c->subs[k], c->subs[k + 1], (size_t)(c->n_subs - k - 1) * sizeof c->subs[0]);
                c->n_subs--;
                break;
            }
}

int pl_client_subscribe(struct pl_client *c, const char *const *accounts, int n, int bitrate)
{
    if (c->o.target != PL_TARGET_PARLEY || !c->offer_sent || n <= 0 || n > PL_NODE_MSG_MAX_USERS || bitrate < 0)
        return -1;
    json_t *j = packet(c, "SUBSCRIBE");
    json_object_set_new(j, "num_actions", json_integer(n));
    json_object_set_new(j, "subscriptions", sub_list(accounts, n, bitrate));
    remember_subs(c, accounts, n);
    return cl_sig_send_json(c, j);
}

int pl_client_unsubscribe(struct pl_client *c, const char *const *accounts, int n)
{
    if (c->o.target != PL_TARGET_PARLEY || !c->offer_sent || n <= 0 || n > PL_NODE_MSG_MAX_USERS)
        return -1;
    json_t *j = packet(c, "UNSUBSCRIBE");
    json_object_set_new(j, "unsubscriptions", sub_list(accounts, n, -1));
    forget_subs(c, accounts, n);
    return cl_sig_send_json(c, j);
}

int pl_client_unsub_sub(struct pl_client *c, const char *const *unsub, int n_unsub,
                        const char *const *sub, int n_sub, int bitrate)
{
    if (c->o.target != PL_TARGET_PARLEY || !c->offer_sent || n_unsub < 0 || n_sub < 0 || n_unsub + n_sub == 0 ||
        n_unsub + n_sub > PL_NODE_MSG_MAX_USERS || bitrate < 0)
        return -1;
    json_t *j = packet(c, "UNSUB_SUB");
    json_object_set_new(j, "num_actions", json_integer(n_unsub + n_sub));
    json_object_set_new(j, "unsubscribe", sub_list(unsub, n_unsub, 0));
    json_object_set_new(j, "subscribe", sub_list(sub, n_sub, bitrate));
    forget_subs(c, unsub, n_unsub);
    remember_subs(c, sub, n_sub);
    return cl_sig_send_json(c, j);
}

int pl_client_leave(struct pl_client *c)
{
    if (c->o.target == PL_TARGET_JANUS)
        return cl_janus_leave(c);
    if (!c->joined || !c->wsi)
        return -1;
    json_t *j = packet(c, "LEAVE");
    json_object_set_new(j, "account_id", json_string(c->o.account_id));
    return cl_sig_send_json(c, j);
}

int pl_client_end(struct pl_client *c)
{
    if (c->o.target == PL_TARGET_JANUS)
        return cl_janus_leave(c); /* the room goes when Janus restarts; nothing to end */
    if (!c->joined || !c->wsi)
        return -1;
    return cl_sig_send_json(c, packet(c, "END"));
}

/* Subscribes to whoever --subscribe allows that is not subscribed yet. */
static void auto_subscribe(struct pl_client *c)
{
    if (!c->offer_sent || c->o.subscribe == 0)
        return;
    const char *want[CL_MAX_USERS];
    int n = 0;
    for (int i = 0; i < c->n_users; i++) {
        if (c->o.subscribe > 0 && c->n_subs + n >= c->o.subscribe)
            break;
        if (c->n_subs + n >= c->o.video_slots)
            break;
        if (!subscribed(c, c->users[i]))
            want[n++] = c->users[i];
    }
    if (n)
        pl_client_subscribe(c, want, n, c->o.sub_bitrate);
}

/* transport.c calls this once joined and the candidates are gathered. */
int cl_sig_send_offer(struct pl_client *c, const char *sdp)
{
    json_t *j = packet(c, "OFFER");
    json_object_set_new(j, "sdp", json_string(sdp));
    if (cl_sig_send_json(c, j) != 0)
        return -1;
    c->offer_sent = true;
    auto_subscribe(c);
    return 0;
}

static void add_user(struct pl_client *c, const char *id)
{
    for (int i = 0; i < c->n_users; i++)
        if (strcmp(c->users[i], id) == 0)
            return;
    if (c->n_users < CL_MAX_USERS)
        snprintf(c->users[c->n_users++], sizeof c->users[0], "%s", id);
}

static void remove_user(struct pl_client *c, const char *id)
{
    for (int i = 0; i < c->n_users; i++)
        if (strcmp(c->users[i], id) == 0) {
            memmove(c->users[i], c->users[i + 1], (size_t)(c->n_users - i - 1) * sizeof c->users[0]);
            c->n_users--;
            break;
        }
    const char *one[1] = {id};
    forget_subs(c, one, 1); /* the node frees the slot of someone who leaves */
}

void cl_sig_on_message(struct pl_client *c, const char *text, size_t len)
{
    struct pl_node_msg m;
    char err[160];
    if (pl_node_msg_parse(text, len, &m, err, sizeof err) != 0) {
        PL_WARN("client", "%s: bad packet from the node dropped: %s", c->o.account_id, err);
        return;
    }
    if (strcmp(m.meeting_id, c->o.meeting_id) != 0) {
        PL_WARN("client", "%s: packet for meeting %s dropped", c->o.account_id, m.meeting_id);
        pl_node_msg_free(&m);
        return;
    }
    switch (m.type) {
    case PL_NODE_MEETING_USERS:
        if (!c->joined) {
            c->joined = true;
            c->st.join_ms = (pl_now_us() - c->t_start_us) / 1000;
            cl_set_state(c, PL_CLIENT_JOINED);
        }
        c->n_users = 0;
        for (int i = 0; i < m.n_users; i++)
            if (strcmp(m.users[i], c->o.account_id) != 0)
                add_user(c, m.users[i]);
        cl_event(c, PL_CLIENT_EV_USERS);
        cl_ice_start(c); /* the offer goes out once candidates are gathered */
        auto_subscribe(c);
        break;
    case PL_NODE_JOIN:
        add_user(c, m.account_id);
        cl_event(c, PL_CLIENT_EV_USERS);
        auto_subscribe(c);
        break;
    case PL_NODE_LEAVE:
        remove_user(c, m.account_id);
        cl_event(c, PL_CLIENT_EV_USERS);
        auto_subscribe(c);
        break;
    case PL_NODE_END:
        PL_INFO("client", "%s: the meeting ended", c->o.account_id);
        c->st.meeting_ended = true;
        cl_set_state(c, PL_CLIENT_CLOSED);
        break;
    case PL_NODE_JOIN_DENIED: {
        char why[sizeof c->error];
        snprintf(why, sizeof why, "%s", c->error); /* the ERROR that came first says why */
        cl_fail(c, "join denied%s%s", why[0] ? ": " : "", why);
        break;
    }
    case PL_NODE_ERROR:
        c->st.errors_received++;
        PL_WARN("client", "%s: ERROR from the node: %s", c->o.account_id, m.msg);
        if (!c->joined)
            snprintf(c->error, sizeof c->error, "%s", m.msg);
        break;
    case PL_NODE_ANSWER:
        if (cl_answer_apply(c, m.sdp, m.sdp_len) != 0 && c->state != PL_CLIENT_FAILED)
            cl_fail(c, "the answer could not be used");
        break;
    case PL_NODE_SLOTS:
        c->n_slots = m.n_slots;
        memcpy(c->slots, m.slots, (size_t)m.n_slots * sizeof *m.slots);
        /* A stream keeps the last account its slot carried (figures stay attributable after
         * that participant left); a slot given to someone else takes the new name. */
        for (int i = 0; i < c->n_rx; i++) {
            for (int k = 0; k < c->n_slots; k++)
                if (strcmp(c->slots[k].mid, c->rx[i].pub.mid) == 0)
                    snprintf(c->rx[i].pub.account_id, sizeof c->rx[i].pub.account_id, "%s",
                             c->slots[k].account_id);
        }
        cl_event(c, PL_CLIENT_EV_SLOTS);
        break;
    case PL_NODE_RECORDING:
    case PL_NODE_ACTIVE_SPEAKER:
        break;
    }
    pl_node_msg_free(&m);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    struct pl_client *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            c->wsi = NULL;
            cl_fail(c, "WebSocket to %s failed: %s", c->o.url, in ? (const char *)in : "?");
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c) {
            c->wsi = wsi;
            if (c->o.target == PL_TARGET_JANUS)
                cl_janus_on_open(c);
            else
                send_join(c);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c)
            return 0;
        if (lws_frame_is_binary(wsi)) {
            PL_WARN("client", "binary frame from the node dropped");
            return 0;
        }
        if (c->rx_len + len > RX_MAX) {
            cl_fail(c, "message from the node over %d bytes", RX_MAX);
            return -1;
        }
        if (c->rx_len + len + 1 > c->rx_cap) {
            size_t cap = (c->rx_len + len + 1) * 2;
            char *p = realloc(c->rx_text, cap);
            if (!p)
                return -1;
            c->rx_text = p;
            c->rx_cap = cap;
        }
        memcpy(c->rx_text + c->rx_len, in, len);
        c->rx_len += len;
        if (lws_is_final_fragment(wsi)) {
            size_t n = c->rx_len;
            c->rx_len = 0;
            if (c->o.target == PL_TARGET_JANUS)
                cl_janus_on_message(c, c->rx_text, n);
            else
                cl_sig_on_message(c, c->rx_text, n);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (!c || !c->out_head)
            return 0;
        struct sig_out *m = c->out_head;
        c->out_head = m->next;
        if (!c->out_head)
            c->out_tail = NULL;
        int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0)
            return -1;
        if (c->out_head)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            c->wsi = NULL;
            if (c->state == PL_CLIENT_MEDIA || c->state == PL_CLIENT_JOINED)
                cl_set_state(c, PL_CLIENT_CLOSED);
            else if (c->state == PL_CLIENT_CONNECTING)
                cl_fail(c, "the node closed the WebSocket%s%s", c->error[0] ? ": " : "", c->error);
        }
        return 0;
    default:
        return 0;
    }
}

int cl_sig_connect(struct pl_client *c)
{
    char url[512];
    const char *prot, *addr, *path;
    int port;
    snprintf(url, sizeof url, "%s", c->o.url);
    if (lws_parse_uri(url, &prot, &addr, &port, &path) != 0 ||
        (strcmp(prot, "ws") != 0 && strcmp(prot, "wss") != 0)) {
        cl_fail(c, "bad URL %s (expected ws://host:port/path)", c->o.url);
        return -1;
    }
    char full_path[256];
    snprintf(full_path, sizeof full_path, "/%s", path);
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = c->loop->lws;
    i.address = addr;
    i.port = port;
    i.path = full_path;
    i.host = addr;
    i.origin = addr;
    i.protocol = c->o.target == PL_TARGET_JANUS ? "janus-protocol" : "parley";
    i.ssl_connection = strcmp(prot, "wss") == 0 ? LCCSCF_USE_SSL : 0;
    i.opaque_user_data = c;
    /* No i.pwsi: lws would write through it after a late failure, maybe after the client is
     * freed. The callbacks find the client through the opaque pointer instead. */
    c->wsi = lws_client_connect_via_info(&i);
    if (!c->wsi) {
        if (c->state != PL_CLIENT_FAILED)
            cl_fail(c, "WebSocket to %s could not start", c->o.url);
        return -1;
    }
    return 0;
}

void cl_sig_close(struct pl_client *c)
{
    if (c->wsi) {
        lws_set_opaque_user_data(c->wsi, NULL);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        c->wsi = NULL;
    }
    while (c->out_head) {
        struct sig_out *m = c->out_head;
        c->out_head = m->next;
        free(m);
    }
    c->out_tail = NULL;
    free(c->rx_text);
    c->rx_text = NULL;
}
