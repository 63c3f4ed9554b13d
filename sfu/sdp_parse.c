/* SDP offer parser: strict and bounds-safe on untrusted text. Lines end in CRLF or LF; every
 * line is "<letter>=<value>"; the first is v=0. Unknown attributes are ignored; known ones
 * with malformed values fail the parse; values too long for their field fail it too, except
 * a=fmtp (kept as "" but still read for apt/packetization-mode/profile-level-id) and a=extmap
 * with an over-long URI (skipped: no URI the node understands is that long). Excess codecs,
 * extmaps, ssrcs and rids are ignored.
 *
 * Inheritance: the direction and a=extmap written at session level are applied to media
 * lines that lack their own here (the struct has no "absent" direction). ICE credentials,
 * fingerprint and setup stay at the level they were written at; pl_sdp_negotiate falls back
 * to the session-level values for a line that has none. */
#include "parley/sdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RAW_SSRCS 32 /* a=ssrc values collected per line before the FID fold */
#define RAW_FIDS 16

/* A view into the input text: nothing is NUL-terminated. */
struct sv {
    const char *p;
    size_t n;
};

enum { FB_NACK, FB_PLI, FB_FIR, FB_REMB, FB_TCC, FB_COUNT };

struct ctx {
    struct pl_sdp *sdp;
    struct pl_sdp_media *m; /* current media line, NULL at session level */
    int max_media;          /* length of sdp->media */
    int line;
    char *err;
    size_t errlen;
    /* session-level values that media lines inherit at finish_media */
    bool sess_dir_set;
    enum pl_direction sess_dir;
    struct pl_sdp_extmap sess_ext[PL_SDP_MAX_EXTMAPS];
    int n_sess_ext;
    /* per media line, reset at each m= */
    bool dir_set;
    bool fb_all[FB_COUNT]; /* a=rtcp-fb:* */
    uint32_t raw[RAW_SSRCS];
    int n_raw;
    uint32_t fid[RAW_FIDS][2];
    int n_fid;
};

static const char *const ext_uris[PL_EXT_COUNT] = {
    [PL_EXT_MID] = "urn:ietf:params:rtp-hdrext:sdes:mid",
    [PL_EXT_RID] = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    [PL_EXT_REPAIRED_RID] = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    [PL_EXT_ABS_SEND_TIME] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    [PL_EXT_TRANSPORT_CC] =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    [PL_EXT_AUDIO_LEVEL] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
};

static const char *const codec_names[] = {
    [PL_CODEC_OTHER] = "",      [PL_CODEC_OPUS] = "opus", [PL_CODEC_VP8] = "VP8",
    [PL_CODEC_VP9] = "VP9",     [PL_CODEC_H264] = "H264", [PL_CODEC_AV1] = "AV1",
    [PL_CODEC_RTX] = "rtx",     [PL_CODEC_RED] = "red",   [PL_CODEC_ULPFEC] = "ulpfec",
    [PL_CODEC_TELEPHONE_EVENT] = "telephone-event",
};

const char *pl_ext_uri(enum pl_ext e)
{
    return (unsigned)e < PL_EXT_COUNT ? ext_uris[e] : "";
}

const char *pl_codec_name(enum pl_codec c)
{
    return (unsigned)c <= PL_CODEC_TELEPHONE_EVENT ? codec_names[c] : "";
}

/* ---- small helpers over views ---- */

static int fail(struct ctx *c, const char *what)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "sdp line %d: %s", c->line, what);
    return -1;
}

static bool sv_eq(struct sv s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool sv_ieq(struct sv s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Splits off the text before the first sep (or all of it); s keeps what follows sep. */
static struct sv sv_cut(struct sv *s, char sep)
{
    struct sv head = *s;
    const char *q = s->n ? memchr(s->p, sep, s->n) : NULL;
    if (q) {
        head.n = (size_t)(q - s->p);
        s->p = q + 1;
        s->n -= head.n + 1;
    } else {
        s->p += s->n;
        s->n = 0;
    }
    return head;
}

/* Next space-separated token; runs of spaces count as one separator. */
static struct sv sv_token(struct sv *s)
{
    while (s->n && *s->p == ' ') {
        s->p++;
        s->n--;
    }
    struct sv t = sv_cut(s, ' ');
    return t;
}

static struct sv sv_trim(struct sv s)
{
    while (s.n && (*s.p == ' ' || *s.p == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

/* Decimal digits only, at most max. */
static bool sv_uint(struct sv s, uint64_t max, uint64_t *out)
{
    if (s.n == 0 || s.n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (d > max || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool sv_copy(struct sv s, char *dst, size_t cap)
{
    if (s.n >= cap)
        return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return true;
}

/* RFC 8866 token characters: what a=mid is made of (echoed into the answer, where a space or
 * a separator would change its meaning). */
static bool sv_is_token(struct sv s)
{
    static const char sep[] = "\"(),/:;<=>?@[\\]{}";
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr(sep, ch))
            return false;
    }
    return s.n > 0;
}

/* RFC 8851 rid-id: letters, digits, '-' and '_'. */
static bool sv_is_rid(struct sv s)
{
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return s.n > 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* ---- codecs ---- */

static enum pl_codec codec_from_name(const char *name)
{
    for (int c = PL_CODEC_OPUS; c <= PL_CODEC_TELEPHONE_EVENT; c++)
        if (strcasecmp(name, codec_names[c]) == 0)
            return (enum pl_codec)c;
    return PL_CODEC_OTHER;
}

static struct pl_sdp_codec *find_codec(struct pl_sdp_media *m, uint64_t pt)
{
    for (int i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

/* "<pt> ..." at the start of an attribute value: the codec it names, NULL when the pt is not
 * in the m= line (or was beyond the codec limit). -1 on a malformed pt. */
static int codec_ref(struct ctx *c, struct sv *v, struct pl_sdp_codec **out)
{
    uint64_t pt;
    struct sv t = sv_token(v);
    if (!sv_uint(t, 127, &pt))
        return fail(c, "bad payload type");
    *out = find_codec(c->m, pt);
    return 0;
}

/* Reads fmtp parameters the node acts on; the text itself is kept when it fits. */
static void read_fmtp(struct pl_sdp_codec *cd, struct sv v)
{
    if (!sv_copy(v, cd->fmtp, sizeof cd->fmtp))
        cd->fmtp[0] = '\0';
    while (v.n) {
        struct sv kv = sv_trim(sv_cut(&v, ';'));
        struct sv key = sv_trim(sv_cut(&kv, '='));
        struct sv val = sv_trim(kv);
        uint64_t n;
        if (sv_ieq(key, "apt") && sv_uint(val, 127, &n)) {
            cd->apt = (int)n;
        } else if (sv_ieq(key, "packetization-mode") && sv_uint(val, 2, &n)) {
            cd->packetization_mode = (int)n; /* kept for H.264 only, at finish_media */
        } else if (sv_ieq(key, "profile-level-id") && val.n == 6) {
            uint32_t id = 0;
            size_t i = 0;
            for (; i < 6 && hexval(val.p[i]) >= 0; i++)
                id = id << 4 | (uint32_t)hexval(val.p[i]);
            if (i == 6)
                cd->profile_level_id = id;
        }
    }
}

static int attr_rtpmap(struct ctx *c, struct sv v)
{
    struct pl_sdp_codec *cd;
    if (codec_ref(c, &v, &cd) < 0)
        return -1;
    struct sv enc = sv_token(&v);
    struct sv name = sv_cut(&enc, '/');
    struct sv clock = sv_cut(&enc, '/');
    uint64_t rate, ch = 0;
    if (name.n == 0 || !sv_uint(clock, UINT32_MAX, &rate) ||
        (enc.n && (!sv_uint(enc, 255, &ch) || ch == 0)))
        return fail(c, "malformed a=rtpmap");
    if (!cd)
        return 0;
    if (!sv_copy(name, cd->name, sizeof cd->name))
        return fail(c, "a=rtpmap encoding name too long");
    cd->codec = codec_from_name(cd->name);
    cd->clock = (uint32_t)rate;
    cd->channels = (uint8_t)ch;
    return 0;
}

static int attr_fmtp(struct ctx *c, struct sv v)
{
    struct pl_sdp_codec *cd;
    if (codec_ref(c, &v, &cd) < 0)
        return -1;
    if (cd)
        read_fmtp(cd, sv_trim(v));
    return 0;
}

/* Which FB_* flag an "a=rtcp-fb:<pt> <type> [<subtype>]" value sets, -1 for none. */
static int fb_kind(struct sv v)
{
    struct sv type = sv_token(&v);
    struct sv sub = sv_token(&v);
    if (sv_eq(type, "nack"))
        return sub.n == 0 ? FB_NACK : sv_eq(sub, "pli") ? FB_PLI : -1;
    if (sv_eq(type, "ccm"))
        return sv_eq(sub, "fir") ? FB_FIR : -1;
    if (sv_eq(type, "goog-remb"))
        return FB_REMB;
    if (sv_eq(type, "transport-cc"))
        return FB_TCC;
    return -1;
}

static void set_fb(struct pl_sdp_codec *cd, int kind)
{
    switch (kind) {
    case FB_NACK: cd->fb_nack = true; break;
    case FB_PLI: cd->fb_pli = true; break;
    case FB_FIR: cd->fb_fir = true; break;
    case FB_REMB: cd->fb_remb = true; break;
    case FB_TCC: cd->fb_transport_cc = true; break;
    default: break;
    }
}

static int attr_rtcp_fb(struct ctx *c, struct sv v)
{
    if (v.n && v.p[0] == '*') {
        sv_token(&v);
        int k = fb_kind(v);
        if (k >= 0)
            c->fb_all[k] = true;
        return 0;
    }
    struct pl_sdp_codec *cd;
    if (codec_ref(c, &v, &cd) < 0)
        return -1;
    if (cd)
        set_fb(cd, fb_kind(v));
    return 0;
}

/* ---- other attributes ---- */

static int attr_extmap(struct ctx *c, struct sv v)
{
    struct sv idp = sv_token(&v);
    struct sv id = sv_cut(&idp, '/'); /* the optional /direction is not kept */
    struct sv uri = sv_token(&v);
    uint64_t n;
    if (!sv_uint(id, 255, &n) || n == 0 || uri.n == 0)
        return fail(c, "malformed a=extmap");
    struct pl_sdp_extmap *list = c->m ? c->m->extmaps : c->sess_ext;
    int *count = c->m ? &c->m->n_extmaps : &c->n_sess_ext;
    if (*count >= PL_SDP_MAX_EXTMAPS || uri.n >= sizeof list[0].uri)
        return 0;
    struct pl_sdp_extmap *e = &list[(*count)++];
    e->id = (uint8_t)n;
    sv_copy(uri, e->uri, sizeof e->uri);
    e->ext = -1;
    for (int i = 0; i < PL_EXT_COUNT; i++)
        if (strcmp(e->uri, ext_uris[i]) == 0)
            e->ext = i;
    return 0;
}

static int attr_fingerprint(struct ctx *c, struct sv v)
{
    char alg[16];
    uint8_t fp[64];
    size_t len = 0;
    struct sv a = sv_token(&v);
    struct sv hex = sv_token(&v);
    if (!sv_copy(a, alg, sizeof alg) || a.n == 0)
        return fail(c, "malformed a=fingerprint");
    for (char *q = alg; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    while (hex.n) {
        struct sv byte = sv_cut(&hex, ':');
        if (byte.n != 2 || len == sizeof fp || hexval(byte.p[0]) < 0 || hexval(byte.p[1]) < 0)
            return fail(c, "malformed a=fingerprint");
        fp[len++] = (uint8_t)(hexval(byte.p[0]) << 4 | hexval(byte.p[1]));
    }
    if (len == 0)
        return fail(c, "malformed a=fingerprint");
    char *dst_alg = c->m ? c->m->fingerprint_alg : c->sdp->fingerprint_alg;
    uint8_t *dst = c->m ? c->m->fingerprint : c->sdp->fingerprint;
    size_t *dst_len = c->m ? &c->m->fingerprint_len : &c->sdp->fingerprint_len;
    /* Several fingerprints may be offered: keep the sha-256 one once seen. */
    if (*dst_len && strcmp(dst_alg, "sha-256") == 0)
        return 0;
    strcpy(dst_alg, alg);
    memcpy(dst, fp, len);
    *dst_len = len;
    return 0;
}

static int attr_setup(struct ctx *c, struct sv v)
{
    enum pl_setup s;
    if (sv_eq(v, "actpass"))
        s = PL_SETUP_ACTPASS;
    else if (sv_eq(v, "active"))
        s = PL_SETUP_ACTIVE;
    else if (sv_eq(v, "passive"))
        s = PL_SETUP_PASSIVE;
    else if (sv_eq(v, "holdconn"))
        s = PL_SETUP_NONE;
    else
        return fail(c, "bad a=setup");
    *(c->m ? &c->m->setup : &c->sdp->setup) = s;
    return 0;
}

static int attr_group(struct ctx *c, struct sv v)
{
    if (c->m || !sv_eq(sv_token(&v), "BUNDLE"))
        return 0;
    for (struct sv t = sv_token(&v); t.n; t = sv_token(&v)) {
        if (c->sdp->n_bundle == PL_SDP_MAX_MEDIA)
            return fail(c, "too many a=group:BUNDLE members");
        if (!sv_is_token(t) || !sv_copy(t, c->sdp->bundle_mids[c->sdp->n_bundle++], 32))
            return fail(c, "bad a=group:BUNDLE mid");
    }
    return 0;
}

static int attr_ssrc(struct ctx *c, struct sv v)
{
    uint64_t ssrc;
    if (!sv_uint(sv_token(&v), UINT32_MAX, &ssrc))
        return fail(c, "bad a=ssrc");
    struct sv name = sv_cut(&v, ':');
    struct pl_sdp_media *m = c->m;
    int i = 0;
    while (i < c->n_raw && c->raw[i] != ssrc)
        i++;
    if (i == c->n_raw && c->n_raw < RAW_SSRCS)
        c->raw[c->n_raw++] = (uint32_t)ssrc;
    if (sv_eq(name, "cname") && !m->cname[0] && !sv_copy(v, m->cname, sizeof m->cname))
        return fail(c, "a=ssrc cname too long");
    /* a=msid (written later or earlier) wins over the legacy ssrc msid */
    if (sv_eq(name, "msid") && !m->msid[0] && !sv_copy(v, m->msid, sizeof m->msid))
        return fail(c, "a=ssrc msid too long");
    return 0;
}

static int attr_ssrc_group(struct ctx *c, struct sv v)
{
    if (!sv_eq(sv_token(&v), "FID"))
        return 0;
    uint64_t a, b;
    if (!sv_uint(sv_token(&v), UINT32_MAX, &a) || !sv_uint(sv_token(&v), UINT32_MAX, &b))
        return fail(c, "bad a=ssrc-group:FID");
    if (c->n_fid < RAW_FIDS) {
        c->fid[c->n_fid][0] = (uint32_t)a;
        c->fid[c->n_fid++][1] = (uint32_t)b;
    }
    return 0;
}

static int attr_rid(struct ctx *c, struct sv v)
{
    struct sv id = sv_token(&v);
    struct sv dir = sv_token(&v);
    if (!sv_is_rid(id) || !(sv_eq(dir, "send") || sv_eq(dir, "recv")))
        return fail(c, "malformed a=rid");
    struct pl_sdp_media *m = c->m;
    if (m->n_rids == PL_SDP_MAX_RIDS)
        return 0;
    struct pl_sdp_rid *r = &m->rids[m->n_rids];
    if (!sv_copy(id, r->id, sizeof r->id))
        return fail(c, "a=rid id too long");
    r->send = sv_eq(dir, "send");
    m->n_rids++;
    return 0;
}

static int set_dir(struct ctx *c, enum pl_direction d)
{
    if (c->m) {
        c->m->dir = d;
        c->dir_set = true;
    } else {
        c->sess_dir = d;
        c->sess_dir_set = true;
    }
    return 0;
}

static int attr_int(struct ctx *c, struct sv v, int *dst, uint64_t max, const char *what)
{
    uint64_t n;
    if (!sv_uint(v, max, &n))
        return fail(c, what);
    *dst = (int)n;
    return 0;
}

static int attribute(struct ctx *c, struct sv v)
{
    struct sv name = sv_cut(&v, ':');
    struct pl_sdp_media *m = c->m;
    struct pl_sdp *s = c->sdp;
    if (sv_eq(name, "ice-ufrag")) {
        bool ok = m ? sv_copy(v, m->ice_ufrag, sizeof m->ice_ufrag)
                    : sv_copy(v, s->ice_ufrag, sizeof s->ice_ufrag);
        return ok && v.n ? 0 : fail(c, "bad a=ice-ufrag");
    }
    if (sv_eq(name, "ice-pwd")) {
        bool ok = m ? sv_copy(v, m->ice_pwd, sizeof m->ice_pwd)
                    : sv_copy(v, s->ice_pwd, sizeof s->ice_pwd);
        return ok && v.n ? 0 : fail(c, "bad a=ice-pwd");
    }
    if (sv_eq(name, "ice-lite")) {
        s->ice_lite = true;
        return 0;
    }
    if (sv_eq(name, "fingerprint"))
        return attr_fingerprint(c, v);
    if (sv_eq(name, "setup"))
        return attr_setup(c, v);
    if (sv_eq(name, "group"))
        return attr_group(c, v);
    if (sv_eq(name, "extmap"))
        return attr_extmap(c, v);
    if (sv_eq(name, "sendrecv"))
        return set_dir(c, PL_DIR_SENDRECV);
    if (sv_eq(name, "sendonly"))
        return set_dir(c, PL_DIR_SENDONLY);
    if (sv_eq(name, "recvonly"))
        return set_dir(c, PL_DIR_RECVONLY);
    if (sv_eq(name, "inactive"))
        return set_dir(c, PL_DIR_INACTIVE);
    if (!m)
        return 0; /* the rest are media-level only */
    if (sv_eq(name, "mid")) {
        if (!sv_is_token(v) || !sv_copy(v, m->mid, sizeof m->mid))
            return fail(c, "bad a=mid");
        return 0;
    }
    if (sv_eq(name, "rtcp-mux"))
        m->rtcp_mux = true;
    else if (sv_eq(name, "rtcp-rsize"))
        m->rtcp_rsize = true;
    else if (sv_eq(name, "bundle-only"))
        m->bundle_only = true;
    else if (sv_eq(name, "rtpmap"))
        return attr_rtpmap(c, v);
    else if (sv_eq(name, "fmtp"))
        return attr_fmtp(c, v);
    else if (sv_eq(name, "rtcp-fb"))
        return attr_rtcp_fb(c, v);
    else if (sv_eq(name, "ssrc"))
        return attr_ssrc(c, v);
    else if (sv_eq(name, "ssrc-group"))
        return attr_ssrc_group(c, v);
    else if (sv_eq(name, "msid")) {
        if (v.n == 0 || !sv_copy(v, m->msid, sizeof m->msid))
            return fail(c, "bad a=msid");
    } else if (sv_eq(name, "rid"))
        return attr_rid(c, v);
    else if (sv_eq(name, "simulcast"))
        m->simulcast = true;
    else if (sv_eq(name, "sctp-port"))
        return attr_int(c, v, &m->sctp_port, 65535, "bad a=sctp-port");
    else if (sv_eq(name, "max-message-size"))
        return attr_int(c, v, &m->max_message_size, 0x7fffffff, "bad a=max-message-size");
    return 0;
}

/* ---- media lines ---- */

/* Applies what needs the whole media section: '*' feedback, the FID fold, inheritance. */
static void finish_media(struct ctx *c)
{
    struct pl_sdp_media *m = c->m;
    if (!m)
        return;
    for (int i = 0; i < m->n_codecs; i++) {
        struct pl_sdp_codec *cd = &m->codecs[i];
        for (int k = 0; k < FB_COUNT; k++)
            if (c->fb_all[k])
                set_fb(cd, k);
        if (cd->codec != PL_CODEC_H264) {
            cd->packetization_mode = -1;
            cd->profile_level_id = 0;
        } else if (cd->packetization_mode < 0)
            cd->packetization_mode = 0;
    }
    if (!c->dir_set && c->sess_dir_set)
        m->dir = c->sess_dir;
    for (int i = 0; i < c->n_sess_ext && m->n_extmaps < PL_SDP_MAX_EXTMAPS; i++) {
        bool have = false;
        for (int j = 0; j < m->n_extmaps; j++)
            have |= m->extmaps[j].id == c->sess_ext[i].id;
        if (!have)
            m->extmaps[m->n_extmaps++] = c->sess_ext[i];
    }
    /* Primary SSRCs in the order written; an FID group's second member is the rtx SSRC. */
    for (int i = 0; i < c->n_raw && m->n_ssrcs < PL_SDP_MAX_SSRCS; i++) {
        uint32_t s = c->raw[i], rtx = 0;
        bool is_rtx = false;
        for (int f = 0; f < c->n_fid; f++) {
            if (c->fid[f][1] == s && c->fid[f][0] != s)
                is_rtx = true;
            if (c->fid[f][0] == s && c->fid[f][1] != s)
                rtx = c->fid[f][1];
        }
        if (is_rtx)
            continue;
        m->ssrcs[m->n_ssrcs].ssrc = s;
        m->ssrcs[m->n_ssrcs++].rtx_ssrc = rtx;
    }
}

static int media_line(struct ctx *c, struct sv v)
{
    finish_media(c);
    struct pl_sdp *s = c->sdp;
    if (s->n_media == c->max_media)
        return fail(c, "too many m= lines");
    struct pl_sdp_media *m = &s->media[s->n_media++];
    c->m = m;
    c->dir_set = false;
    memset(c->fb_all, 0, sizeof c->fb_all);
    c->n_raw = 0;
    c->n_fid = 0;

    struct sv kind = sv_token(&v);
    struct sv portv = sv_token(&v);
    struct sv port = sv_cut(&portv, '/'); /* "<port>/<count>" is legal; the count is unused */
    struct sv proto = sv_token(&v);
    uint64_t n;
    if (!sv_copy(kind, m->kind_name, sizeof m->kind_name) || kind.n == 0)
        return fail(c, "bad m= media type");
    if (!sv_uint(port, 65535, &n))
        return fail(c, "bad m= port");
    m->port = (uint16_t)n;
    if (!sv_copy(proto, m->proto, sizeof m->proto) || proto.n == 0)
        return fail(c, "bad m= proto");
    m->kind = sv_eq(kind, "audio") ? PL_MEDIA_AUDIO
            : sv_eq(kind, "video") ? PL_MEDIA_VIDEO
            : sv_eq(kind, "application") ? PL_MEDIA_APPLICATION : PL_MEDIA_OTHER;
    m->dir = PL_DIR_SENDRECV;
    bool rtp = strstr(m->proto, "RTP/") != NULL;
    size_t used = 0;
    int n_fmt = 0;
    for (struct sv t = sv_token(&v); t.n; t = sv_token(&v), n_fmt++) {
        /* keep the format list up to a token boundary: it is only echoed on rejected lines */
        if (used + t.n + 1 < sizeof m->fmt_list) {
            if (used)
                m->fmt_list[used++] = ' ';
            memcpy(m->fmt_list + used, t.p, t.n);
            used += t.n;
            m->fmt_list[used] = '\0';
        }
        if (!rtp)
            continue;
        if (!sv_uint(t, 127, &n))
            return fail(c, "bad payload type in m= line");
        if (find_codec(m, n) || m->n_codecs == PL_SDP_MAX_CODECS)
            continue;
        struct pl_sdp_codec *cd = &m->codecs[m->n_codecs++];
        cd->pt = (uint8_t)n;
        cd->apt = -1;
        cd->packetization_mode = -1;
    }
    if (n_fmt == 0)
        return fail(c, "m= line without formats");
    return 0;
}

/* ---- entry points ---- */

static int count_media(const char *text, size_t len)
{
    int n = 0;
    for (size_t i = 0; i + 1 < len; i++)
        if ((i == 0 || text[i - 1] == '\n') && text[i] == 'm' && text[i + 1] == '=')
            n++;
    return n;
}

static int parse_lines(struct ctx *c, const char *text, size_t len)
{
    size_t pos = 0;
    bool first = true;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        struct sv line = {text + pos, end - pos};
        pos = end + 1;
        c->line++;
        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        if (line.n == 0)
            continue; /* tolerate blank lines (a trailing one is common) */
        for (size_t i = 0; i < line.n; i++)
            if ((unsigned char)line.p[i] < 0x20 && line.p[i] != '\t')
                return fail(c, "control character");
        if (line.n < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
            return fail(c, "not a <type>=<value> line");
        char type = line.p[0];
        struct sv v = {line.p + 2, line.n - 2};
        if (first) {
            if (type != 'v' || !sv_eq(v, "0"))
                return fail(c, "SDP must start with v=0");
            first = false;
            continue;
        }
        int rc = 0;
        if (type == 'm')
            rc = media_line(c, v);
        else if (type == 'a')
            rc = attribute(c, v);
        if (rc < 0)
            return rc;
    }
    finish_media(c);
    return 0;
}

int pl_sdp_parse(const char *text, size_t len, struct pl_sdp *out, char *err, size_t errlen)
{
    struct ctx *c;
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!text || len == 0 || len > PL_SDP_MAX_SDP_LEN) {
        if (err && errlen)
            snprintf(err, errlen, "sdp: empty or larger than %d bytes", PL_SDP_MAX_SDP_LEN);
        return -1;
    }
    int n = count_media(text, len);
    if (n == 0 || n > PL_SDP_MAX_MEDIA) {
        if (err && errlen)
            snprintf(err, errlen, n ? "sdp: more than %d m= lines" : "sdp: no m= line",
                     PL_SDP_MAX_MEDIA);
        return -1;
    }
    c = calloc(1, sizeof *c);
    out->media = calloc((size_t)n, sizeof *out->media);
    if (!c || !out->media) {
        free(c);
        pl_sdp_free(out);
        if (err && errlen)
            snprintf(err, errlen, "sdp: out of memory");
        return -1;
    }
    c->sdp = out;
    c->max_media = n;
    c->err = err;
    c->errlen = errlen;
    int rc = parse_lines(c, text, len);
    free(c);
    if (rc < 0)
        pl_sdp_free(out);
    return rc;
}

void pl_sdp_free(struct pl_sdp *sdp)
{
    if (!sdp)
        return;
    free(sdp->media);
    sdp->media = NULL;
    sdp->n_media = 0;
}
