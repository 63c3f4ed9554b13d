/* The node in the control plane's eyes: it registers at start (POST /nodes/register with its
 * name and the WebSocket URL clients reach it at), heartbeats its load (meetings and
 * participants) as often as the control plane asks, registers again when the control plane
 * has forgotten it (404) or could not be reached, and reports who joins and leaves each
 * meeting (POST /meetings/{id}/joined|left). A good answer also sends the recording results
 * it did not take before (rec_report.c). Nothing happens without --control-url. */
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "sig_int.h"

#define PL_REGISTER_RETRY_MS 5000
#define PL_HEARTBEAT_DEFAULT_S 3

static void schedule(struct pl_signaling *s, uint64_t ms);

static bool enabled(const struct pl_signaling *s)
{
    const char *u = s->node->cfg.control_url;
    return u && *u && !s->stopping;
}

static void load(const struct pl_signaling *s, int *meetings, int *participants)
{
    *meetings = *participants = 0;
    for (const struct pl_meeting *m = s->meetings; m; m = m->next)
        if (!m->ended) {
            (*meetings)++;
            *participants += m->n_parts;
        }
}

static void on_registered(struct pl_signaling *s, long status, json_t *reply, void *user)
{
    (void)user;
    const char *id = json_string_value(json_object_get(reply, "node_id"));
    json_int_t every = json_integer_value(json_object_get(reply, "heartbeat_interval_s"));
    if (status != 200 || !id || strlen(id) >= sizeof s->node_id) {
        PL_WARN("control", "registration refused or failed (HTTP %ld): trying again in %d s",
                status, PL_REGISTER_RETRY_MS / 1000);
        schedule(s, PL_REGISTER_RETRY_MS);
        return;
    }
    snprintf(s->node_id, sizeof s->node_id, "%s", id);
    s->heartbeat_ms = (uint64_t)(every > 0 && every < 3600 ? every : PL_HEARTBEAT_DEFAULT_S) * 1000;
    PL_INFO("control", "registered as node %s; heartbeat every %llu s", s->node_id,
            (unsigned long long)(s->heartbeat_ms / 1000));
    schedule(s, s->heartbeat_ms);
    pl_recording_retry_reports(s);
}

static void on_heartbeat(struct pl_signaling *s, long status, json_t *reply, void *user)
{
    (void)reply;
    (void)user;
    if (status == 404) {
        PL_WARN("control", "the control plane does not know node %s: registering again", s->node_id);
        s->node_id[0] = '\0';
        schedule(s, 0);
        return;
    }
    schedule(s, s->heartbeat_ms);
    if (status >= 200 && status < 300)
        pl_recording_retry_reports(s); /* it answers again: what it missed goes now */
}

static void on_timer(uv_timer_t *t)
{
    struct pl_signaling *s = t->data;
    if (!enabled(s))
        return;
    const struct pl_node_config *cfg = &s->node->cfg;
    if (!s->node_id[0]) {
        char url[256], name[160];
        if (cfg->public_url && *cfg->public_url)
            snprintf(url, sizeof url, "%s", cfg->public_url);
        else
            snprintf(url, sizeof url, "ws://%s:%d/", cfg->listen_ip, cfg->http_port);
        if (cfg->node_name && *cfg->node_name)
            snprintf(name, sizeof name, "%s", cfg->node_name);
        else
            snprintf(name, sizeof name, "node-%s-%d", cfg->listen_ip, cfg->http_port);
        pl_control_call(s, "/nodes/register",
                        json_pack("{s:s, s:s}", "name", name, "signaling_url", url), on_registered, NULL);
        return;
    }
    int meetings, participants;
    load(s, &meetings, &participants);
    char path[128];
    snprintf(path, sizeof path, "/nodes/%s/heartbeat", s->node_id);
    pl_control_call(s, path, json_pack("{s:i, s:i, s:b}", "meetings", meetings, "participants",
                                       participants, "draining", 0),
                    on_heartbeat, NULL);
}

static void schedule(struct pl_signaling *s, uint64_t ms)
{
    if (enabled(s) && s->control_timer_on)
        uv_timer_start(&s->control_timer, on_timer, ms, 0);
}

void pl_control_node_start(struct pl_signaling *s)
{
    if (!enabled(s))
        return;
    uv_timer_init(s->node->loop, &s->control_timer);
    s->control_timer.data = s;
    s->control_timer_on = true;
    schedule(s, 0);
}

void pl_control_node_stop(struct pl_signaling *s)
{
    if (!s->control_timer_on)
        return;
    s->control_timer_on = false;
    uv_close((uv_handle_t *)&s->control_timer, NULL);
}

/* /meetings/{id}/joined|left with the id percent-encoded. */
void pl_control_presence(struct pl_signaling *s, const struct pl_meeting *m, const char *account,
                         bool joined)
{
    if (!enabled(s))
        return;
    char path[64 + 3 * PL_ID_MAX];
    size_t n = pl_control_meeting_path(m->id, path, sizeof path);
    snprintf(path + n, sizeof path - n, "/%s", joined ? "joined" : "left");
    pl_control_post(s, path, json_pack("{s:s}", "account_id", account));
}
