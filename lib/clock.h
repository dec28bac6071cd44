/* clock.h - The two clocks the exporter reads, in seconds as a double.
 *
 * clock_mono() measures intervals and deadlines (never goes back, stops
 * nowhere); clock_wall() is Unix time, for what is shown or saved: event
 * lag, checkpoint times, load times.  clock_mono_coarse() is the cheaper,
 * jiffy-resolution monotonic clock, for per-line cache ages on the hot
 * path. */

#ifndef GWLOG_CLOCK_H
#define GWLOG_CLOCK_H


/* Prototypes */

/* CLOCK_MONOTONIC, seconds since an arbitrary origin. */
double clock_mono(void);

/* CLOCK_MONOTONIC_COARSE (a few ms resolution), same origin as
 * clock_mono(). */
double clock_mono_coarse(void);

/* CLOCK_REALTIME, seconds since the Unix epoch. */
double clock_wall(void);

#endif /* GWLOG_CLOCK_H */
