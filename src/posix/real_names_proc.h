/*
 * real_names_proc.h - force-included (gcc -include) into every library file outside
 * src/posix: the library's own calls to the thread, time, sleep, random, signal and exit
 * functions that src/posix interposes go straight to the C library.
 *
 * Why: the world lock, the scheduler's condition variables, the event loops' threads and the
 * clock the realtime scheduler reads are the library's, not the program's. Reaching them
 * through the interposer would treat the scheduler's own mutex, taken by a simulated thread,
 * as a program mutex to simulate (and recurse into the scheduler). The macros are
 * function-like, so only calls are rewritten; the headers are included first so that their
 * declarations are not.
 */
#ifndef VMCISIM_POSIX_REAL_NAMES_PROC_H
#define VMCISIM_POSIX_REAL_NAMES_PROC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "posix/real.h"

#define pthread_create(...) REAL(pthread_create)(__VA_ARGS__)
#define pthread_join(...) REAL(pthread_join)(__VA_ARGS__)
#define pthread_detach(...) REAL(pthread_detach)(__VA_ARGS__)
#define pthread_mutex_lock(...) REAL(pthread_mutex_lock)(__VA_ARGS__)
#define pthread_mutex_trylock(...) REAL(pthread_mutex_trylock)(__VA_ARGS__)
#define pthread_mutex_timedlock(...) REAL(pthread_mutex_timedlock)(__VA_ARGS__)
#define pthread_mutex_clocklock(...) REAL(pthread_mutex_clocklock)(__VA_ARGS__)
#define sched_yield(...) REAL(sched_yield)(__VA_ARGS__)
#define sem_clockwait(...) REAL(sem_clockwait)(__VA_ARGS__)
#define pthread_cond_clockwait(...) REAL(pthread_cond_clockwait)(__VA_ARGS__)
#define pthread_mutex_unlock(...) REAL(pthread_mutex_unlock)(__VA_ARGS__)
#define pthread_cond_wait(...) REAL(pthread_cond_wait)(__VA_ARGS__)
#define pthread_cond_timedwait(...) REAL(pthread_cond_timedwait)(__VA_ARGS__)
#define pthread_cond_signal(...) REAL(pthread_cond_signal)(__VA_ARGS__)
#define pthread_cond_broadcast(...) REAL(pthread_cond_broadcast)(__VA_ARGS__)
#define sem_wait(...) REAL(sem_wait)(__VA_ARGS__)
#define sem_timedwait(...) REAL(sem_timedwait)(__VA_ARGS__)
#define sem_post(...) REAL(sem_post)(__VA_ARGS__)
#define nanosleep(...) REAL(nanosleep)(__VA_ARGS__)
#define clock_nanosleep(...) REAL(clock_nanosleep)(__VA_ARGS__)
#define usleep(...) REAL(usleep)(__VA_ARGS__)
#define sleep(...) REAL(sleep)(__VA_ARGS__)
#define clock_gettime(...) REAL(clock_gettime)(__VA_ARGS__)
#define gettimeofday(...) REAL(gettimeofday)(__VA_ARGS__)
#define time(...) REAL(time)(__VA_ARGS__)
#define rand(...) REAL(rand)(__VA_ARGS__)
#define srand(...) REAL(srand)(__VA_ARGS__)
#define random(...) REAL(random)(__VA_ARGS__)
#define srandom(...) REAL(srandom)(__VA_ARGS__)
#define getrandom(...) REAL(getrandom)(__VA_ARGS__)
#define exit(...) REAL(exit)(__VA_ARGS__)
#define _exit(...) REAL(_exit)(__VA_ARGS__)

#endif
