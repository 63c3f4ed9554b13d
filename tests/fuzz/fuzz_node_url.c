/* libFuzzer target for control/node_url.c: the node's HTTP base from the signaling URL it
 * registered. An accepted URL gives "http://" or "https://" and a host part that is inside the
 * output buffer, NUL-terminated and free of '/', '@' and spaces; every output size is tried. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../control/node_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        abort();
    memcpy(url, data, size);
    url[size] = '\0';
    for (size_t cap = 1; cap <= 64; cap *= 2) {
        char *out = malloc(cap);
        if (!out)
            abort();
        if (ctl_node_http_base(url, out, cap)) {
            if (!memchr(out, '\0', cap))
                abort();
            const char *host = strncmp(out, "https://", 8) == 0 ? out + 8
                               : strncmp(out, "http://", 7) == 0 ? out + 7 : NULL;
            if (!host || !*host || strpbrk(host, "/@ ?#"))
                abort();
        }
        free(out);
    }
    char big[2048];
    (void)ctl_node_http_base(url, big, sizeof big);
    free(url);
    return 0;
}
