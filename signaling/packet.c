/* Signaling packets from clients: JSON text -> struct pl_packet (docs/protocol.md).
 * Every check of shape, type and size is here; the meeting logic checks meaning (accounts,
 * roles, tokens, state). Error texts go to the client in ERROR, so they are always printable,
 * valid UTF-8 (control characters and broken sequences become '?'). */
#include "parley/packet.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/token.h" /* PL_TOKEN_MAX_LEN */

#define SHOW_CHARS 32 /* characters of a client's string quoted in an error */

struct errbuf {
    char *s;
    size_t n;
};

static const char *const type_names[] = {
    [PL_SIG_INIT] = "INIT",
    [PL_SIG_JOIN] = "JOIN",
    [PL_SIG_LEAVE] = "LEAVE",
    [PL_SIG_END] = "END",
    [PL_SIG_SUBSCRIBE] = "SUBSCRIBE",
    [PL_SIG_UNSUBSCRIBE] = "UNSUBSCRIBE",
    [PL_SIG_UNSUB_SUB] = "UNSUB_SUB",
    [PL_SIG_RECORD_JOIN] = "RECORD_JOIN",
    [PL_SIG_OFFER] = "OFFER",
};

/* Packets only the node sends. */
static const char *const node_types[] = {
    "MEETING_USERS", "JOIN_DENIED", "ERROR", "ANSWER", "SLOTS", "RECORDING", "ACTIVE_SPEAKER",
};

const char *pl_sig_type_name(enum pl_sig_type t)
{
    if (t < PL_SIG_INIT || t > PL_SIG_OFFER)
        return "UNKNOWN";
    return type_names[t];
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left); 0 when invalid or cut short.
 * Strict like jansson: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* In place: control characters (C0, DEL, C1) and bytes that are not valid UTF-8 become '?'. */
static void make_printable(char *str)
{
    unsigned char *s = (unsigned char *)str;
    size_t n = strlen(str), r = 0, w = 0;
    while (r < n) {
        size_t k = utf8_seq(s + r, n - r);
        bool control = (k == 1 && (s[r] < 0x20 || s[r] == 0x7F)) ||
                       (k == 2 && s[r] == 0xC2 && s[r + 1] < 0xA0);
        if (k == 0 || control) {
            s[w++] = '?';
            r += k ? k : 1;
        } else {
            memmove(s + w, s + r, k);
            w += k;
            r += k;
        }
    }
    s[w] = '\0';
}

/* Bytes of s (len bytes) taken by its first max_chars characters. */
static int prefix_bytes(const char *s, size_t len, size_t max_chars)
{
    size_t i = 0;
    for (size_t chars = 0; i < len && chars < max_chars; chars++) {
        size_t k = utf8_seq((const unsigned char *)s + i, len - i);
        i += k ? k : 1;
    }
    return (int)i;
}

static int fail(struct errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct errbuf *e, const char *fmt, ...)
{
    if (e->s && e->n > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->s, e->n, fmt, ap);
        va_end(ap);
        make_printable(e->s);
    }
    return -1;
}

/* v (not NULL) must be a string of 1..max bytes without NUL. label: `field "x"` or
 * `subscriptions[2].account_id`. */
static int check_str(json_t *v, const char *label, size_t max, struct errbuf *e)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return fail(e, "%s must be a string of 1 to %zu characters", label, max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(e, "%s must not contain NUL characters", label);
    return 0;
}

/* The required id under key of obj into dst (PL_ID_MAX + 1 bytes). */
static int copy_id(json_t *obj, const char *key, const char *label,
                   char dst[static PL_ID_MAX + 1], struct errbuf *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return fail(e, "missing %s", label);
    if (check_str(v, label, PL_ID_MAX, e))
        return -1;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* "token" is optional here (the meeting logic denies a join without one), checked when given. */
static int copy_token(json_t *obj, struct pl_packet *p, struct errbuf *e)
{
    json_t *v = json_object_get(obj, "token");
    if (!v)
        return 0;
    if (check_str(v, "field \"token\"", PL_TOKEN_MAX_LEN, e))
        return -1;
    p->token = strdup(json_string_value(v));
    return p->token ? 0 : fail(e, "out of memory");
}

static int get_num_actions(json_t *obj, struct pl_packet *p, struct errbuf *e)
{
    json_t *v = json_object_get(obj, "num_actions");
    if (!v)
        return fail(e, "missing field \"num_actions\"");
    if (!json_is_integer(v))
        return fail(e, "field \"num_actions\" must be an integer");
    p->num_actions = json_integer_value(v);
    return 0;
}

/* The array v, named name in errors, into list / *n: at most PL_MAX_LIST objects
 * {account_id, bitrate}, no account twice. Without bitrate_required a missing bitrate is -1. */
static int parse_list(json_t *v, const char *name, bool bitrate_required,
                      struct pl_sub_entry list[static PL_MAX_LIST], int *n, struct errbuf *e)
{
    if (!v)
        return fail(e, "missing field \"%s\"", name);
    if (!json_is_array(v))
        return fail(e, "field \"%s\" must be an array", name);
    size_t count = json_array_size(v);
    if (count > PL_MAX_LIST)
        return fail(e, "at most %d entries in \"%s\" (it has %zu)", PL_MAX_LIST, name, count);
    char label[64];
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(v, i);
        struct pl_sub_entry *ent = &list[i];
        if (!json_is_object(item))
            return fail(e, "%s[%zu] must be an object", name, i);
        snprintf(label, sizeof label, "%s[%zu].account_id", name, i);
        if (copy_id(item, "account_id", label, ent->account_id, e))
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(list[j].account_id, ent->account_id) == 0)
                return fail(e, "\"%s\" lists account \"%.*s\" twice (entries %zu and %zu)", name,
                            prefix_bytes(ent->account_id, strlen(ent->account_id), SHOW_CHARS),
                            ent->account_id, j, i);
        json_t *b = json_object_get(item, "bitrate");
        ent->bitrate = -1;
        if (!b && bitrate_required)
            return fail(e, "missing %s[%zu].bitrate", name, i);
        if (b) {
            if (!json_is_integer(b) || json_integer_value(b) < 0 ||
                json_integer_value(b) > PL_MAX_BITRATE)
                return fail(e, "%s[%zu].bitrate must be an integer from 0 to %d", name, i,
                            PL_MAX_BITRATE);
            ent->bitrate = json_integer_value(b);
        }
    }
    *n = (int)count;
    return 0;
}

static const char *entries(long long n)
{
    return n == 1 ? "entry" : "entries";
}

static int parse_subscribe(json_t *obj, struct pl_packet *p, struct errbuf *e)
{
    if (get_num_actions(obj, p, e) ||
        parse_list(json_object_get(obj, "subscriptions"), "subscriptions", true, p->subscribe,
                   &p->n_subscribe, e))
        return -1;
    if (p->n_subscribe == 0)
        return fail(e, "\"subscriptions\" must have at least one entry");
    if (p->num_actions != p->n_subscribe)
        return fail(e, "num_actions is %lld but \"subscriptions\" has %d %s",
                    (long long)p->num_actions, p->n_subscribe, entries(p->n_subscribe));
    return 0;
}

/* The list travels under "num_actions" (the original design) or "unsubscriptions". */
static int parse_unsubscribe(json_t *obj, struct pl_packet *p, struct errbuf *e)
{
    json_t *legacy = json_object_get(obj, "num_actions");
    json_t *named = json_object_get(obj, "unsubscriptions");
    if (legacy && named)
        return fail(e, "UNSUBSCRIBE takes its list under \"num_actions\" or \"unsubscriptions\", "
                       "not both");
    if (!legacy && !named)
        return fail(e, "missing field \"unsubscriptions\" (or the same list under "
                       "\"num_actions\")");
    if (legacy && !json_is_array(legacy))
        return fail(e, "field \"num_actions\" of UNSUBSCRIBE must be the array of accounts to "
                       "unsubscribe");
    const char *name = legacy ? "num_actions" : "unsubscriptions";
    if (parse_list(legacy ? legacy : named, name, false, p->unsubscribe, &p->n_unsubscribe, e))
        return -1;
    if (p->n_unsubscribe == 0)
        return fail(e, "\"%s\" must have at least one entry", name);
    p->num_actions = p->n_unsubscribe;
    return 0;
}

static int parse_unsub_sub(json_t *obj, struct pl_packet *p, struct errbuf *e)
{
    if (get_num_actions(obj, p, e) ||
        parse_list(json_object_get(obj, "unsubscribe"), "unsubscribe", false, p->unsubscribe,
                   &p->n_unsubscribe, e) ||
        parse_list(json_object_get(obj, "subscribe"), "subscribe", true, p->subscribe,
                   &p->n_subscribe, e))
        return -1;
    int total = p->n_unsubscribe + p->n_subscribe;
    if (total == 0)
        return fail(e, "UNSUB_SUB needs at least one entry in \"unsubscribe\" or \"subscribe\"");
    if (p->num_actions != total)
        return fail(e, "num_actions is %lld but \"unsubscribe\" and \"subscribe\" have %d %s",
                    (long long)p->num_actions, total, entries(total));
    return 0;
}

static int parse_offer(json_t *obj, struct pl_packet *p, struct errbuf *e)
{
    json_t *v = json_object_get(obj, "sdp");
    if (!v)
        return fail(e, "missing field \"sdp\"");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(e, "field \"sdp\" must be a non-empty string");
    size_t len = json_string_length(v);
    p->sdp = malloc(len + 1);
    if (!p->sdp)
        return fail(e, "out of memory");
    memcpy(p->sdp, json_string_value(v), len + 1);
    p->sdp_len = len;
    return 0;
}

/* The content type, or -1 with the error set. */
static int parse_type(json_t *obj, struct errbuf *e)
{
    json_t *v = json_object_get(obj, "content_type");
    if (!v)
        return fail(e, "missing field \"content_type\"");
    if (!json_is_string(v))
        return fail(e, "field \"content_type\" must be a string");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    for (int t = PL_SIG_INIT; t <= PL_SIG_OFFER; t++)
        if (strlen(type_names[t]) == len && memcmp(type_names[t], s, len) == 0)
            return t;
    for (size_t i = 0; i < sizeof node_types / sizeof node_types[0]; i++)
        if (strlen(node_types[i]) == len && memcmp(node_types[i], s, len) == 0)
            return fail(e, "%s is sent by the node, not by clients", node_types[i]);
    return fail(e, "unknown content_type \"%.*s\"", prefix_bytes(s, len, SHOW_CHARS), s);
}

static int parse_object(json_t *obj, struct pl_packet *p, char *meeting_id_out, struct errbuf *e)
{
    if (!json_is_object(obj))
        return fail(e, "a packet must be a JSON object");
    if (copy_id(obj, "meeting_id", "field \"meeting_id\"", p->meeting_id, e))
        return -1;
    if (meeting_id_out)
        memcpy(meeting_id_out, p->meeting_id, sizeof p->meeting_id);
    int type = parse_type(obj, e);
    if (type < 0)
        return -1;
    p->type = (enum pl_sig_type)type;
    switch (p->type) {
    case PL_SIG_INIT:
        if (copy_id(obj, "host", "field \"host\"", p->host, e))
            return -1;
        return copy_token(obj, p, e);
    case PL_SIG_JOIN:
        if (copy_id(obj, "account_id", "field \"account_id\"", p->account_id, e))
            return -1;
        return copy_token(obj, p, e);
    case PL_SIG_LEAVE:
        return copy_id(obj, "account_id", "field \"account_id\"", p->account_id, e);
    case PL_SIG_END:
        return 0;
    case PL_SIG_SUBSCRIBE:
        return parse_subscribe(obj, p, e);
    case PL_SIG_UNSUBSCRIBE:
        return parse_unsubscribe(obj, p, e);
    case PL_SIG_UNSUB_SUB:
        return parse_unsub_sub(obj, p, e);
    case PL_SIG_RECORD_JOIN:
        return copy_token(obj, p, e);
    case PL_SIG_OFFER:
        return parse_offer(obj, p, e);
    }
    return -1; /* not reached: parse_type returns a client type or -1 */
}

int pl_packet_parse(const char *text, size_t len, struct pl_packet *out, char *meeting_id_out,
                    char *err, size_t errlen)
{
    struct errbuf e = {err, errlen};
    memset(out, 0, sizeof *out);
    if (meeting_id_out)
        meeting_id_out[0] = '\0';
    if (err && errlen > 0)
        err[0] = '\0';

    /* JSON_DECODE_ANY so that `42` is "not an object" rather than a syntax error. */
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return fail(&e, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    int rc = parse_object(root, out, meeting_id_out, &e);
    json_decref(root);
    if (rc != 0) {
        pl_packet_free(out);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

void pl_packet_free(struct pl_packet *p)
{
    if (!p)
        return;
    free(p->token);
    free(p->sdp);
    p->token = NULL;
    p->sdp = NULL;
    p->sdp_len = 0;
}
