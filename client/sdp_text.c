/* A bounded text buffer the client's SDP writers print into (sdp_text.h). */
#include "sdp_text.h"

#include <stdarg.h>
#include <stdio.h>

void sdp_put(struct sdp_text *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = true;
        return;
    }
    o->len += (size_t)n;
}
