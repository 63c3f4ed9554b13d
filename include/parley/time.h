/* Monotonic time. */
#ifndef PARLEY_TIME_H
#define PARLEY_TIME_H
#include <stdint.h>

uint64_t pl_now_us(void); /* CLOCK_MONOTONIC in microseconds */
uint64_t pl_now_ms(void); /* CLOCK_MONOTONIC in milliseconds */

#endif
