/*
 * Microbenchmark of the costs the contention model (zswaplab/concurrency/timed.py) needs, on this machine:
 *   atomic_ns   - an uncontended xchg on a line the CPU owns (one thread)
 *   lock_ns     - an uncontended test-and-set spin_lock + spin_unlock pair (one thread)
 *   pingpong_ns - one cache-line transfer between two CPUs (two threads pinned to two CPUs alternate
 *                 increments of one atomic word)
 *   handoff_ns  - one hand-off of a spinlock from one CPU to the other (the two threads take turns: each
 *                 acquires, sees its turn, passes it and releases), i.e. lock transfer + the protected work
 * Both two-CPU figures are the minimum over windows of WINDOW transfers: on a shared machine the two
 * threads are not always running at once, and a window in which they were gives the hardware's cost.
 * Output: one "name value" line per figure (nanoseconds).
 * Built and run by zswaplab/concurrency/calibrate.py (gcc -O2 -pthread).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define REPEATS 5
#define WINDOW 256

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static _Alignas(64) atomic_long word;
static _Alignas(64) atomic_int lockw;
static _Alignas(64) atomic_long counter;
static _Alignas(64) atomic_int turn;
static long iters;
static double best_window;

static void pin(int cpu) {
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static inline void spin_lock(atomic_int *l) {
	for (;;) {
		if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
			return;
		while (atomic_load_explicit(l, memory_order_relaxed))
			__builtin_ia32_pause();
	}
}

static inline void spin_unlock(atomic_int *l) { atomic_store_explicit(l, 0, memory_order_release); }

static void window_mark(long i, double *t0) {
	if (i % WINDOW == 0) {
		double t = now_ns();
		if (i > 0 && (t - *t0) / WINDOW < best_window)
			best_window = (t - *t0) / WINDOW;
		*t0 = t;
	}
}

static void *pingpong(void *arg) {
	long me = (long)arg;
	double t0 = 0;
	pin((int)me);
	for (long i = 0; i < iters; i++) {
		while (atomic_load_explicit(&word, memory_order_acquire) % 2 != me)
			__builtin_ia32_pause();
		atomic_fetch_add_explicit(&word, 1, memory_order_acq_rel);
		if (me == 0)
			window_mark(i, &t0);  /* one window = WINDOW round trips = 2 * WINDOW transfers */
	}
	return NULL;
}

static void *lock_turns(void *arg) {
	int me = (int)(long)arg;
	double t0 = 0;
	pin(me);
	for (long i = 0; i < iters;) {
		spin_lock(&lockw);
		if (atomic_load_explicit(&turn, memory_order_relaxed) == me) {
			atomic_store_explicit(&turn, !me, memory_order_relaxed);
			atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
			i++;
			if (me == 0)
				window_mark(i, &t0);
		}
		spin_unlock(&lockw);
	}
	return NULL;
}

static double two_threads(void *(*fn)(void *), long n) {
	pthread_t a, b;
	iters = n;
	double t0 = now_ns();
	pthread_create(&a, NULL, fn, (void *)0L);
	pthread_create(&b, NULL, fn, (void *)1L);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return now_ns() - t0;
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	double best_atomic = 1e18, best_lock = 1e18, best_pp = 1e18, best_handoff = 1e18;
	pin(0);
	for (int r = 0; r < REPEATS; r++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++)
			atomic_exchange_explicit(&word, i, memory_order_seq_cst);
		double t = (now_ns() - t0) / n;
		if (t < best_atomic) best_atomic = t;
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			spin_lock(&lockw);
			atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
			spin_unlock(&lockw);
		}
		t = (now_ns() - t0) / n;
		if (t < best_lock) best_lock = t;
		atomic_store(&word, 0);
		best_window = 1e18;
		two_threads(pingpong, n / 20);
		if (best_window / 2 < best_pp) best_pp = best_window / 2;  /* a round trip is two transfers */
		atomic_store(&turn, 0);
		best_window = 1e18;
		two_threads(lock_turns, n / 20);
		if (best_window / 2 < best_handoff) best_handoff = best_window / 2;  /* two hand-offs per turn pair */
	}
	printf("cpus %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("atomic_ns %.2f\n", best_atomic);
	printf("lock_ns %.2f\n", best_lock);
	printf("pingpong_ns %.2f\n", best_pp);
	printf("handoff_ns %.2f\n", best_handoff);
	return 0;
}
