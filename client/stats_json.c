/* A client's figures as JSON (parley-client --stats-json, and the bench harness). */
#include <jansson.h>
#include <stdlib.h>

#include "client_int.h"

char *pl_client_stats_json(const struct pl_client *c)
{
    const struct pl_client_stats *s = &c->st;
    json_t *j = json_object();
    json_object_set_new(j, "account_id", json_string(c->o.account_id));
    json_object_set_new(j, "state", json_string(pl_client_state_name(c->state)));
    json_object_set_new(j, "error", json_string(c->error));
    json_object_set_new(j, "join_ms", json_integer((json_int_t)s->join_ms));
    json_object_set_new(j, "meeting_ended", json_boolean(s->meeting_ended));
    json_object_set_new(j, "connect_ms", json_integer((json_int_t)s->connect_ms));
#define N(field) json_object_set_new(j, #field, json_integer((json_int_t)s->field))
    N(tx_video_packets); N(tx_video_bytes); N(tx_audio_packets); N(tx_audio_bytes);
    N(tx_frames); N(tx_keyframes);
    N(rx_packets); N(rx_bytes); N(rx_video_packets); N(rx_audio_packets);
    N(rx_unprotect_errors); N(rx_rtcp); N(rx_rtx);
    N(plis_received); N(nacks_received); N(retransmitted); N(plis_sent); N(nacks_sent);
    N(errors_received); N(ivf_frames); N(ogg_packets); N(delay_count);
    N(dc_messages_received); N(dc_channels_opened);
#undef N
    json_object_set_new(j, "delay_p50_ms", json_real(pl_client_delay_percentile(s, 50)));
    json_object_set_new(j, "delay_p99_ms", json_real(pl_client_delay_percentile(s, 99)));
    json_t *streams = json_array();
    uint64_t lost = 0;
    for (int i = 0; i < c->n_rx; i++) {
        const struct pl_client_rx *r = &c->rx[i].pub;
        lost += r->lost;
        json_array_append_new(streams, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:I, s:I}",
            "mid", r->mid, "account_id", r->account_id, "kind", r->video ? "video" : "audio",
            "ssrc", (json_int_t)r->ssrc, "packets", (json_int_t)r->packets,
            "bytes", (json_int_t)r->bytes, "lost", (json_int_t)r->lost,
            "jitter_ms", r->jitter_ms, "frames", (json_int_t)r->frames,
            "keyframes", (json_int_t)r->keyframes));
    }
    json_object_set_new(j, "rx_lost", json_integer((json_int_t)lost));
    json_object_set_new(j, "streams", streams);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}
