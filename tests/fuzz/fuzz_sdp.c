/* libFuzzer target for the SDP code: parse arbitrary text as an offer; whatever parses is
 * negotiated (all options on, then all off) and answered; every answer must fit its bounds
 * and parse back with the same m-lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ANSWER_CAP (1024 * 1024)
static char answer[ANSWER_CAP];

static const struct pl_answer_params params = {
    .ice_ufrag = "fuzzufrag",
    .ice_pwd = "fuzzpasswordfuzzpassword",
    .fingerprint = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                   "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    .candidate_ip = "127.0.0.1",
    .candidate_port = 9,
    .cname = "fuzz",
    .session_id = UINT64_MAX,
};

static void answer_and_check(const struct pl_sdp *offer, const struct pl_negotiate_opts *o)
{
    struct pl_negotiated neg;
    char err[256];
    if (pl_sdp_negotiate(offer, o, &neg, err, sizeof err) < 0) {
        if (neg.media || !err[0])
            abort(); /* a failure frees everything and says why */
        return;
    }
    if (neg.n_media != offer->n_media)
        abort();
    for (int i = 0; i < neg.n_media; i++) {
        struct pl_neg_media *m = &neg.media[i];
        if (m->accepted && m->dir == PL_DIR_SENDONLY) {
            m->send_ssrc = 0x01020304u + (uint32_t)i;
            m->send_rtx_ssrc = (uint32_t)i & 1 ? 0 : 0x0a0b0c0du + (uint32_t)i;
            snprintf(m->send_msid, sizeof m->send_msid, "s%d t%d", i, i);
        }
    }
    int len = pl_sdp_write_answer(offer, &neg, &params, answer, sizeof answer);
    if (len <= 0 || (size_t)len != strlen(answer))
        abort();
    /* a buffer one byte short must be refused, not overrun */
    char *small = malloc((size_t)len);
    if (small && pl_sdp_write_answer(offer, &neg, &params, small, (size_t)len) != -1)
        abort();
    free(small);
    if (len <= PL_SDP_MAX_SDP_LEN) {
        struct pl_sdp back;
        if (pl_sdp_parse(answer, (size_t)len, &back, err, sizeof err) < 0)
            abort();
        if (back.n_media != offer->n_media)
            abort();
        for (int i = 0; i < back.n_media; i++)
            if (neg.media[i].accepted && strcmp(back.media[i].mid, neg.media[i].mid) != 0)
                abort();
        pl_sdp_free(&back);
    }
    pl_negotiated_free(&neg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy, not NUL-terminated, so any read past the text is caught by ASan. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    struct pl_sdp offer;
    char err[256];
    if (pl_sdp_parse(text, size, &offer, err, sizeof err) == 0) {
        static const struct pl_negotiate_opts all = {true, true, true, true, true, true};
        static const struct pl_negotiate_opts none;
        answer_and_check(&offer, &all);
        answer_and_check(&offer, &none);
        pl_sdp_free(&offer);
    } else if (offer.media || !err[0]) {
        abort();
    }
    free(text);
    return 0;
}
