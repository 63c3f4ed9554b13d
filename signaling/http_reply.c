/* A complete small HTTP response from an lws HTTP callback (the node's JSON and text
 * endpoints): headers, then the body in one final write. Never cached. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "sig_int.h"

int pl_http_reply(struct lws *wsi, unsigned status, const char *type, const char *body, size_t len)
{
    unsigned char hdr[LWS_PRE + 512];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    unsigned char *out = malloc(LWS_PRE + len + 1);
    if (!out)
        return -1;
    memcpy(out + LWS_PRE, body, len);
    int n = lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    free(out);
    if (n < (int)len)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}
