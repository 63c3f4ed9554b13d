/* The node's HTTP base from its signaling URL: see node_url.h. The URL came from the node's
 * registration (network input), so it is checked character by character. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "node_url.h"

bool ctl_node_http_base(const char *url, char *out, size_t outlen)
{
    const char *scheme;
    size_t skip;
    if (strncasecmp(url, "ws://", 5) == 0)
        scheme = "http://", skip = 5;
    else if (strncasecmp(url, "wss://", 6) == 0)
        scheme = "https://", skip = 6;
    else
        return false;
    const char *host = url + skip;
    size_t n = strcspn(host, "/?#");
    if (n == 0 || n > 1024)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '@' || ch == '\\')
            return false;
    }
    int w = snprintf(out, outlen, "%s%.*s", scheme, (int)n, host);
    return w > 0 && (size_t)w < outlen;
}
