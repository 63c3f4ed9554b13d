/* Logging: "2026-11-23T14:50:01.123Z INFO  worker: message", one write(2) per line so lines
 * from different threads never interleave. */
#include "parley/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static _Atomic int current_level = PL_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void pl_log_set_level(enum pl_log_level level)
{
    atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

enum pl_log_level pl_log_get_level(void)
{
    return (enum pl_log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

int pl_log_level_parse(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    if (!name)
        return -1;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return PL_LOG_WARN;
    return -1;
}

/* Writes all of buf, retrying on EINTR; a line under PIPE_BUF goes out in one write. */
static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

void pl_log(enum pl_log_level level, const char *component, const char *fmt, ...)
{
    if ((int)level < 0 || level >= PL_LOG_OFF || (int)level < (int)pl_log_get_level())
        return;

    char line[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L, level_names[level],
                     component ? component : "-");
    if (n < 0)
        return;
    size_t prefix = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + prefix, sizeof line - prefix, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = prefix + (size_t)m;
    if (len > sizeof line - 2) { /* truncated: mark it, keep room for the newline */
        len = sizeof line - 2;
        memcpy(line + len - 3, "...", 3);
    }
    /* Messages may carry peer-supplied text: control characters would break "one line". */
    for (size_t i = prefix; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = ' ';
    line[len++] = '\n';
    write_all(line, len);
}
