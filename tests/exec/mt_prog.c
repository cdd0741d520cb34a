/*
 * mt_prog.c - a plain multi-threaded Linux program (pthreads, no vmcisim code) for the exec
 * tests: four workers take a mutex in turns and log the order in which they got it (the order
 * is the schedule's: under `exec` in deterministic mode it is the seed's, so the same seed
 * prints the same order), a producer/consumer pair hands items over with a condition variable,
 * and a semaphore gates the start. Exit status 0 when every count is right, else 1..5.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4
#define ROUNDS 25
#define ITEMS 40

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t go;
static long counter;
static char order[WORKERS * ROUNDS + 1];
static int norder;
static int queue[8], qhead, qtail, qlen;
static long consumed_sum;

static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    sem_wait(&go);
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        order[norder++] = (char)('a' + id);
        if (i % 5 == 0)
            usleep(10); /* a scheduling point while holding the mutex: the others contend */
        pthread_mutex_unlock(&mu);
        if (i % 3 == 0)
            sched_yield();
    }
    return (void *)(id * 100);
}

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&mu);
        while (qlen == 8)
            pthread_cond_wait(&cv, &mu);
        queue[qtail] = i;
        qtail = (qtail + 1) % 8;
        qlen++;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&mu);
        while (qlen == 0)
            pthread_cond_wait(&cv, &mu);
        consumed_sum += queue[qhead];
        qhead = (qhead + 1) % 8;
        qlen--;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sem_init(&go, 0, 0);
    pthread_t w[WORKERS], p, c;
    for (intptr_t i = 0; i < WORKERS; i++)
        if (pthread_create(&w[i], NULL, worker, (void *)i) != 0)
            return 1;
    if (pthread_create(&p, NULL, producer, NULL) != 0 ||
        pthread_create(&c, NULL, consumer, NULL) != 0)
        return 1;
    for (int i = 0; i < WORKERS; i++)
        sem_post(&go);
    for (intptr_t i = 0; i < WORKERS; i++) {
        void *r;
        if (pthread_join(w[i], &r) != 0 || r != (void *)(i * 100))
            return 2;
    }
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    /* a timed wait that nobody signals ends by simulated time */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 5000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mu);
    int tw = pthread_cond_timedwait(&cv, &mu, &ts);
    pthread_mutex_unlock(&mu);
    order[norder] = 0;
    printf("order %s\ncounter %ld\nconsumed %ld\ntimedwait %s\n", order, counter, consumed_sum,
           tw == 110 ? "ETIMEDOUT" : "other");
    if (counter != WORKERS * ROUNDS)
        return 3;
    if (consumed_sum != ITEMS * (ITEMS + 1) / 2)
        return 4;
    return tw == 110 ? 0 : 5;
}
