/*
 * test_exec_doorbell.c - the futex doorbell of an exec channel (src/preload/xp_doorbell.h,
 * docs/exec-protocol.md "The channel"): two processes hand requests and replies to each other
 * through the sequence words of a shared area, and a sleeper with no ring times out.
 *
 * Source: futex(2): FUTEX_WAIT sleeps only while the word still holds the expected value
 * (EAGAIN otherwise) and ends at the timeout (ETIMEDOUT); without FUTEX_PRIVATE_FLAG the futex
 * is keyed on the mapped page, so a MAP_SHARED mapping of one memfd in two processes shares it.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/exec_proto.h"
#include "preload/xp_doorbell.h"

#define ROUNDS 3000
/* Longer than Check's timeout: a lost wake-up hangs the exchange and fails the test. */
#define NO_TIMEOUT_MS 1000000

static struct xp_area *shared_area(void)
{
    int m = memfd_create("test-doorbell", MFD_CLOEXEC);
    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(ftruncate(m, sizeof(struct xp_area)), 0);
    struct xp_area *a = mmap(NULL, sizeof *a, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    ck_assert_ptr_ne(a, MAP_FAILED);
    close(m);
    return a;
}

/* The world's side, in a child process: each request's a[0] comes back doubled in ret. */
static void serve(struct xp_area *a)
{
    uint32_t seen = 0;
    for (int i = 0; i < ROUNDS; i++) {
        while (!xp_await(&a->req_seq, &a->req_sleeping, seen, NO_TIMEOUT_MS))
            ; /* futex(2): a wait may also end spuriously */
        seen = __atomic_load_n(&a->req_seq, __ATOMIC_ACQUIRE);
        a->ret = a->a[0] * 2;
        xp_ring(&a->rep_seq, &a->rep_sleeping);
    }
    _exit(seen == ROUNDS ? 0 : 1);
}

START_TEST(handoff_across_processes)
{
    /* Every request gets its own reply, in order, across two processes, each wait ended by the
     * other side's ring (a lost wake-up would sleep past Check's timeout). */
    struct xp_area *a = shared_area();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        serve(a);
    for (int i = 0; i < ROUNDS; i++) {
        a->a[0] = i + 1;
        uint32_t seen = __atomic_load_n(&a->rep_seq, __ATOMIC_ACQUIRE);
        xp_ring(&a->req_seq, &a->req_sleeping);
        while (!xp_await(&a->rep_seq, &a->rep_sleeping, seen, NO_TIMEOUT_MS))
            ;
        ck_assert_int_eq(a->ret, 2 * (i + 1));
        ck_assert_uint_eq(a->rep_seq, (uint32_t)i + 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_uint_eq(a->req_seq, ROUNDS);
    /* nobody sleeps once both sides are done */
    ck_assert_uint_eq(a->req_sleeping, 0);
    ck_assert_uint_eq(a->rep_sleeping, 0);
    munmap(a, sizeof *a);
}
END_TEST

START_TEST(await_without_ring)
{
    struct xp_area *a = shared_area();
    /* no ring: the sleep ends at its timeout (futex(2) ETIMEDOUT), the word unchanged */
    ck_assert(!xp_await(&a->req_seq, &a->req_sleeping, 0, 1));
    ck_assert_uint_eq(a->req_seq, 0);
    ck_assert_uint_eq(a->req_sleeping, 0);
    /* a ring before the wait: the wait returns at once without sleeping (the word moved) */
    xp_ring(&a->req_seq, &a->req_sleeping);
    ck_assert(xp_await(&a->req_seq, &a->req_sleeping, 0, 100000));
    ck_assert_uint_eq(a->req_seq, 1);
    /* the sequence wraps like any unsigned word: "moved" is "differs", not "greater" */
    a->rep_seq = UINT32_MAX;
    xp_ring(&a->rep_seq, &a->rep_sleeping);
    ck_assert_uint_eq(a->rep_seq, 0);
    ck_assert(xp_await(&a->rep_seq, &a->rep_sleeping, UINT32_MAX, 100000));
    munmap(a, sizeof *a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exec_doorbell");
    TCase *tc = tcase_create("doorbell");
    tcase_add_test(tc, handoff_across_processes);
    tcase_add_test(tc, await_without_ring);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
