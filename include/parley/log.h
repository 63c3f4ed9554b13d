/* Logging: one line per event, with a level and a component name.
 * Thread-safe (each line is a single write to stderr). */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

enum pl_log_level { PL_LOG_DEBUG = 0, PL_LOG_INFO, PL_LOG_WARN, PL_LOG_ERROR, PL_LOG_OFF };

void pl_log_set_level(enum pl_log_level level);
enum pl_log_level pl_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int pl_log_level_parse(const char *name);

void pl_log(enum pl_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PL_DEBUG(comp, ...) pl_log(PL_LOG_DEBUG, comp, __VA_ARGS__)
#define PL_INFO(comp, ...)  pl_log(PL_LOG_INFO, comp, __VA_ARGS__)
#define PL_WARN(comp, ...)  pl_log(PL_LOG_WARN, comp, __VA_ARGS__)
#define PL_ERROR(comp, ...) pl_log(PL_LOG_ERROR, comp, __VA_ARGS__)

#endif
