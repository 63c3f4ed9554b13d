/* A bounded text buffer the client's SDP writers (offer, receive-only answer) print into. */
#ifndef PARLEY_CLIENT_SDP_TEXT_H
#define PARLEY_CLIENT_SDP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct sdp_text {
    char *buf;
    size_t cap, len;
    bool overflow; /* set once a line did not fit: the text is then useless */
};

__attribute__((format(printf, 2, 3)))
void sdp_put(struct sdp_text *o, const char *fmt, ...);

#endif
