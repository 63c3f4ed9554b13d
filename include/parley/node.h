/* The router node process: configuration and the objects the main thread owns. */
#ifndef PARLEY_NODE_H
#define PARLEY_NODE_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "parley/mailbox.h"

struct pl_worker;
struct pl_dtls_ctx;
struct pl_signaling;

struct pl_node_config {
    const char *listen_ip;    /* HTTP/WebSocket address */
    int http_port;
    const char *media_ip;     /* UDP bind address of the workers */
    const char *announce_ip;  /* the address put in ICE candidates ("" = media_ip) */
    int media_port;           /* worker i binds media_port + i */
    int workers;              /* 0: one per core */
    const char *web_root;     /* folder served at / */
    const char *log_level;
    int consent_timeout_ms;
    int max_message_bytes;    /* largest signaling message accepted */
    int max_slots;            /* video (and audio) slots accepted per subscriber */
    const char *congestion_feedback; /* "twcc" (transport-cc, REMB as fallback) or "remb" */
    const char *drop_rate;    /* test aid: fraction of datagrams dropped both ways ("0") */
    const char *token_secret; /* HS256 key of join tokens */
    bool dev_token_endpoint;  /* serve GET /dev/token (development only) */
    const char *control_url;  /* control plane base URL for callbacks ("" = none) */
    const char *control_key;  /* bearer key sent with callbacks ("" = none) */
    const char *node_name;    /* the name the node registers under ("" = node-<ip>-<port>) */
    const char *public_url;   /* the WebSocket URL clients reach it at ("" = ws://listen:port/) */
    int max_participants;     /* per meeting, the recorder not counted */
    const char *recordings_root; /* where the recorder writes <tenant>/<conf>/<session>/<id>.mp4 */
    int test_downlink_kbps;   /* test aid: cap what each peer is sent (0: none) */
};

struct pl_node {
    struct pl_node_config cfg;
    uv_loop_t *loop;
    struct pl_worker **workers;
    int n_workers;
    struct pl_dtls_ctx *dtls;     /* certificate shared by every worker */
    char fingerprint[96];         /* sha-256 of it, for answers */
    struct pl_mailbox events;     /* worker -> main */
    struct pl_signaling *sig;
    uint32_t next_peer_id;
};

/* signaling/: WebSocket signaling and the static web page on the main loop. */
struct pl_worker_event;
struct pl_signaling *pl_signaling_start(struct pl_node *node);
void pl_signaling_on_worker_event(struct pl_signaling *sig, const struct pl_worker_event *ev);
/* Closes every connection and the listening socket; the loop must run on to finish. */
void pl_signaling_stop(struct pl_signaling *sig);
bool pl_signaling_stopped(const struct pl_signaling *sig);
void pl_signaling_free(struct pl_signaling *sig);

#endif
