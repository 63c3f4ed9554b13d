/* ffprobe/ffmpeg helpers of the recorder tests. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "media.h"

int run_capture(const char *cmd, char *out, size_t cap)
{
    char full[8192];
    snprintf(full, sizeof(full), "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t n = 0;
    if (out && cap)
        out[0] = 0;
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (out && n + 1 < cap) {
            size_t k = r < cap - 1 - n ? r : cap - 1 - n;
            memcpy(out + n, buf, k);
            n += k;
            out[n] = 0;
        }
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        return atof(json_string_value(v));
    return json_is_number(v) ? json_number_value(v) : -1e9;
}

int probe_file(const char *path, struct probe_stream *s, int max)
{
    char cmd[4600];
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -of json -show_entries "
             "stream=index,codec_name,codec_type:stream_tags=handler_name:"
             "packet=stream_index,pts_time,dts_time,duration_time '%s'",
             path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    json_error_t e;
    json_t *root = json_loadf(p, 0, &e);
    pclose(p);
    if (!root)
        return -1;
    json_t *streams = json_object_get(root, "streams"), *packets = json_object_get(root, "packets");
    int n = (int)json_array_size(streams);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        json_t *st = json_array_get(streams, (size_t)i);
        memset(&s[i], 0, sizeof(s[i]));
        snprintf(s[i].codec, sizeof(s[i].codec), "%s", json_string_value(json_object_get(st, "codec_name")) ?: "");
        snprintf(s[i].type, sizeof(s[i].type), "%s", json_string_value(json_object_get(st, "codec_type")) ?: "");
        json_t *tags = json_object_get(st, "tags");
        const char *h = tags ? json_string_value(json_object_get(tags, "handler_name")) : NULL;
        snprintf(s[i].handler, sizeof(s[i].handler), "%s", h ? h : "");
        s[i].first = 1e9;
        s[i].last_dts = -1e9;
    }
    size_t k;
    json_t *pk;
    json_array_foreach(packets, k, pk) {
        int idx = (int)num(pk, "stream_index");
        if (idx < 0 || idx >= n)
            continue;
        struct probe_stream *x = &s[idx];
        double pts = num(pk, "pts_time"), dts = num(pk, "dts_time"), dur = num(pk, "duration_time");
        if (dur < 0)
            dur = 0;
        if (pts < x->first)
            x->first = pts;
        if (pts + dur > x->end)
            x->end = pts + dur;
        if (dts < x->last_dts)
            x->dts_backwards = true;
        x->last_dts = dts;
        x->packets++;
    }
    json_decref(root);
    return n;
}
