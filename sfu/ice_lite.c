/* ICE-lite (RFC 8445 2.5): the node answers binding requests and never sends checks.
 * A request names its peer by USERNAME "<node ufrag>:<client ufrag>"; once it passes
 * MESSAGE-INTEGRITY the source address is mapped to that peer. USE-CANDIDATE nominates the
 * address media goes to; every valid request refreshes consent (RFC 7675). */
#include <string.h>

#include "parley/hashmap.h"
#include "parley/log.h"
#include "parley/stun.h"
#include "parley/time.h"
#include "worker_int.h"

static struct pl_peer *peer_by_username(struct pl_worker *w, const struct pl_stun_msg *m)
{
    if (!m->username)
        return NULL;
    const uint8_t *colon = memchr(m->username, ':', m->username_len);
    if (!colon)
        return NULL;
    size_t ulen = (size_t)(colon - m->username);
    struct pl_peer *p = pl_map_get(&w->peers_by_ufrag, pl_hash_bytes(m->username, ulen));
    if (!p || strlen(p->local_ufrag) != ulen || memcmp(p->local_ufrag, m->username, ulen) != 0)
        return NULL;
    /* The remote half must match the client's ufrag from its offer. */
    size_t rlen = m->username_len - ulen - 1;
    if (strlen(p->remote_ufrag) != rlen || memcmp(p->remote_ufrag, colon + 1, rlen) != 0)
        return NULL;
    return p;
}

/* Responses go to where the request came from, not to the nominated address. */
static void reply(struct pl_worker *w, const uint8_t *msg, size_t len, const struct sockaddr *to)
{
    uint8_t *buf = pl_out_buf(w);
    if (!buf)
        return;
    memcpy(buf, msg, len);
    pl_out_queue_to(w, buf, len, to, pl_sockaddr_len(to));
}

void pl_ice_on_stun(struct pl_worker *w, uint8_t *data, size_t len, const struct sockaddr *from)
{
    struct pl_stun_msg m;
    if (pl_stun_parse(data, len, &m) != 0 || !pl_stun_check_fingerprint(data, len, &m)) {
        w->stats.rx_dropped++;
        return;
    }
    if (m.type != PL_STUN_BINDING_REQUEST) {
        /* Indications (keepalives) and responses need no answer from a lite agent. */
        return;
    }
    struct pl_peer *p = peer_by_username(w, &m);
    if (!p || p->state == PL_PEER_FAILED) {
        w->stats.rx_dropped++;
        return;
    }
    const size_t pwd_len = strlen(p->local_pwd);
    uint8_t out[256];
    if (!pl_stun_check_integrity(data, len, &m, p->local_pwd, pwd_len)) {
        size_t n = pl_stun_build_binding_error(out, sizeof out, m.txid, 401, "Unauthorized", NULL, 0);
        if (n)
            reply(w, out, n, from);
        return;
    }
    /* A lite agent is always controlled; a peer claiming to be controlled too is wrong. */
    if (m.ice_controlled && !m.ice_controlling) {
        size_t n = pl_stun_build_binding_error(out, sizeof out, m.txid, 487, "Role Conflict",
                                               p->local_pwd, pwd_len);
        if (n)
            reply(w, out, n, from);
        return;
    }
    pl_peer_learn_addr(p, from, m.use_candidate);
    p->last_consent_ms = pl_now_ms();
    size_t n = pl_stun_build_binding_success(out, sizeof out, m.txid, from, p->local_pwd, pwd_len);
    if (n)
        reply(w, out, n, from);
}
