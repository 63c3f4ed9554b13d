/* libFuzzer target for control/static_path.c: whatever path it accepts must name one plain
 * file of the web root (no '/', no "..", no leading dot), fit the buffer, and come with a type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1); /* exact size: a read past the input is caught */
    if (!buf)
        abort();
    memcpy(buf, data, size);
    char out[80];
    memset(out, 'x', sizeof out);
    const char *type = pl_http_static_path(buf, size, out, sizeof out);
    if (type) {
        size_t n = strnlen(out, sizeof out);
        if (n == 0 || n == sizeof out || out[0] == '.' || strchr(out, '/') || strstr(out, "..") ||
            !*type)
            abort();
    }
    /* A small buffer must be refused, never overrun. */
    char small[4];
    if (pl_http_static_path(buf, size, small, sizeof small) && strnlen(small, 4) == 4)
        abort();
    free(buf);
    return 0;
}
