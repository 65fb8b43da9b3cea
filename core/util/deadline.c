/*
 * deadline.c - the time limit of the current call, per thread.
 *
 * The binding's time limit (a Lua count hook) cannot interrupt C code: a
 * domain of a million leaves is normalized inside one C call. So the VM
 * publishes its deadline here while it runs a protected call, and the
 * core's long loops poll eo_deadline__passed() every few thousand steps.
 * It is thread-local because each OS thread runs its own VM (STYLE §5).
 */
#include "../internal.h"

static _Thread_local uint64_t deadline_ns; /* monotonic ns; 0 = none */

uint64_t eo_deadline__set(uint64_t ns)
{
    uint64_t old = deadline_ns;
    deadline_ns = ns;
    return old;
}

uint64_t eo_deadline__get(void) { return deadline_ns; }

int eo_deadline__passed(void)
{
    return deadline_ns != 0 && eo_clock__ns() > deadline_ns;
}
