/* libFuzzer target: what parley-bench reads from the node and /proc — Prometheus text
 * (pl_bench_metric_sum), the /dev/token answer, /proc/<pid>/stat and status. The first byte
 * picks the metric name looked for; results must be finite and the token a NUL-terminated
 * string no longer than the input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parley/bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = {"parley_forwarded_rtp_total", "parley_peers", "x", "a_b"};
    if (size < 1)
        return 0;
    const char *name = names[data[0] % 4];
    data++;
    size--;
    /* A heap copy of exactly `size` bytes so that ASan catches any overread. */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    double v;
    if (pl_bench_metric_sum(p, size, name, &v) == 0 && !isfinite(v) && !isinf(v))
        abort(); /* NaN never comes out */
    char *t = pl_bench_parse_dev_token(p, size);
    if (t && strlen(t) > size)
        abort();
    free(t);
    uint64_t ticks, kb;
    pl_bench_parse_stat(p, size, &ticks);
    pl_bench_parse_status_rss(p, size, &kb);
    free(p);
    return 0;
}
