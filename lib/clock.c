/* clock.c - The two clocks the exporter reads, in seconds as a double. */

#include "lib/clock.h"

#include <time.h>


static double
seconds(clockid_t id)
{
    struct timespec  ts;

    clock_gettime(id, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}


double
clock_mono(void)
{
    return seconds(CLOCK_MONOTONIC);
}


double
clock_mono_coarse(void)
{
    return seconds(CLOCK_MONOTONIC_COARSE);
}


double
clock_wall(void)
{
    return seconds(CLOCK_REALTIME);
}
