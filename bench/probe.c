/* probe.c - how far apart the machine's first two CPUs are: one cache line bounced between
   two threads pinned to CPUs 0 and 1, 200,000 round trips. On the shared VM this project is
   measured on it reads about 80-120 ns most of the time and 360-430 ns in a state that comes
   and goes for minutes, in which every 2-thread program runs much slower (BENCHMARKS.md,
   "The VM's two states"); make bench runs it before each 2-thread run and prints it beside.
   Prints one line: "probe round_trip_ns 85.3" (unpinned where the platform has no
   pthread_setaffinity_np: Linux only). Build: cc -std=c11 -O2 -pthread probe.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 200000

static _Atomic int ball;   /* odd: the main thread served, even: the other returned it */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void pin(pthread_t th, int cpu) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(th, sizeof set, &set);   /* best effort: unpinned is fine */
#else
    (void)th; (void)cpu;
#endif
}

static void *other(void *arg) {
    int i;
    (void)arg;
    pin(pthread_self(), 1);
    for (i = 0; i < ROUNDS; i++) {
        while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 1) { }
        atomic_store_explicit(&ball, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(void) {
    pthread_t th;
    double t0;
    int i;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {   /* two spinning threads on one CPU: hours */
        printf("probe round_trip_ns -\n");
        return 0;
    }
    pin(pthread_self(), 0);
    if (pthread_create(&th, NULL, other, NULL) != 0) {
        fprintf(stderr, "probe: cannot start a thread\n");
        return 1;
    }
    t0 = now_ns();
    for (i = 0; i < ROUNDS; i++) {
        atomic_store_explicit(&ball, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 2) { }
    }
    t0 = now_ns() - t0;
    pthread_join(th, NULL);
    printf("probe round_trip_ns %.1f\n", t0 / ROUNDS);
    return 0;
}
