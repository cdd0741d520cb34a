/*
 * test_usercopy.c - the fault-safe user copies (src/sock/usercopy.c): a bad user buffer gives -1
 * (EFAULT at the socket calls, as Linux's copy_from_user/copy_to_user failing does in
 * vsock_stream_sendmsg/recvmsg via memcpy_from_msg/memcpy_to_msg), never a crash; good buffers
 * copy every byte; the recovery works again and again, on several threads at once; a fault
 * outside a copy still kills the process as before; the system-call variants agree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sock/usercopy.h"
#include "testutil.h"

#define PAGE 4096

typedef int (*copy_fn)(void *, const void *, size_t);

/* Two pages: the first read-write, the second with protection prot2 (PROT_NONE: a guard). */
static unsigned char *two_pages(int prot2)
{
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    memset(p, 0x5a, 2 * PAGE);
    ck_assert_int_eq(mprotect(p + PAGE, PAGE, prot2), 0);
    return p;
}

static void *unmapped_page(void)
{
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ck_assert_int_eq(munmap(p, PAGE), 0);
    return p;
}

/* A page that stays inaccessible (an unmapped page may be mapped again by the next mmap, e.g.
 * a new thread's stack, and then a "bad" address would be good, or worse, writable). */
static void *guard_page(void)
{
    void *p = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    return p;
}

static void check_from(copy_fn from)
{
    unsigned char src[300], dst[300];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)(i * 7 + 1);
    memset(dst, 0, sizeof dst);
    ck_assert_int_eq(from(dst, src, sizeof src), 0);
    ck_assert_int_eq(memcmp(dst, src, sizeof src), 0);
    ck_assert_int_eq(from(dst, NULL, 1), -1);                     /* NULL */
    ck_assert_int_eq(from(dst, (void *)(uintptr_t)64, 1), -1);    /* first page */
    ck_assert_int_eq(from(dst, unmapped_page(), 16), -1);         /* unmapped */
    unsigned char *p = two_pages(PROT_NONE);
    ck_assert_int_eq(from(dst, p + PAGE, 1), -1);                 /* unreadable */
    ck_assert_int_eq(from(dst, p + PAGE - 8, 16), -1);            /* runs into the guard */
    ck_assert_int_eq(from(dst, p + PAGE - 8, 8), 0);              /* stops just before it */
    ck_assert_int_eq(dst[7], 0x5a);
    ck_assert_int_eq(from(dst, p, 0), 0);                         /* nothing to copy */
    munmap(p, 2 * PAGE);
}

static void check_to(copy_fn to)
{
    unsigned char src[64], dst[64];
    memset(src, 0xc3, sizeof src);
    ck_assert_int_eq(to(dst, src, sizeof src), 0);
    ck_assert_int_eq(dst[0], 0xc3);
    ck_assert_int_eq(dst[63], 0xc3);
    ck_assert_int_eq(to(NULL, src, 1), -1);
    ck_assert_int_eq(to(unmapped_page(), src, 8), -1);
    unsigned char *p = two_pages(PROT_READ);
    ck_assert_int_eq(to(p + PAGE, src, 1), -1);                   /* read-only */
    ck_assert_int_eq(to(p + PAGE - 4, src, 8), -1);               /* runs into it */
    ck_assert_int_eq(p[PAGE], 0x5a);                              /* untouched */
    ck_assert_int_eq(to(p + PAGE - 4, src, 4), 0);
    ck_assert_int_eq(p[PAGE - 1], 0xc3);
    munmap(p, 2 * PAGE);
}

START_TEST(fast_copies_fault_safely)
{
    check_from(uc_copy_from_user);
    check_to(uc_copy_to_user);
}
END_TEST

START_TEST(syscall_copies_agree)
{
    check_from(uc_copy_from_user_syscall);
    check_to(uc_copy_to_user_syscall);
}
END_TEST

/* The handler jumps out without restoring a signal mask: SIGSEGV must stay deliverable, so the
 * thousandth fault is caught like the first, and the mask is unchanged afterwards. */
START_TEST(recovery_repeats_and_keeps_the_mask)
{
    sigset_t before, after;
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
    void *bad = guard_page();
    char c;
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(uc_copy_from_user(&c, bad, 1), -1);
        ck_assert_int_eq(uc_copy_to_user(bad, &c, 1), -1);
    }
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
    ck_assert_int_eq(sigismember(&after, SIGSEGV), 0);
    ck_assert_int_eq(sigismember(&after, SIGBUS), sigismember(&before, SIGBUS));
}
END_TEST

struct thr {
    void *bad;
    int good, failed;
};

static void *fault_thread(void *arg)
{
    struct thr *t = arg;
    unsigned char a[512], b[512];
    for (int i = 0; i < 2000; i++) {
        memset(a, i & 0xff, sizeof a);
        if (uc_copy_from_user(b, a, sizeof a) == 0 && b[511] == (i & 0xff))
            t->good++;
        if (uc_copy_from_user(b, t->bad, 8) == -1)
            t->failed++;
    }
    return NULL;
}

/* Recovery points are per thread: four threads faulting at once each get their own -1. */
START_TEST(recovery_is_per_thread)
{
    pthread_t th[4];
    struct thr t[4];
    void *bad = guard_page();
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){.bad = bad};
        ck_assert_int_eq(pthread_create(&th[i], NULL, fault_thread, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(t[i].good, 2000);
        ck_assert_int_eq(t[i].failed, 2000);
    }
}
END_TEST

/* A fault that is not a user copy's is not swallowed: the process dies of it as before (under
 * AddressSanitizer its handler, which was there first, reports it and exits with status 1). */
START_TEST(other_faults_still_kill)
{
    char c;
    ck_assert_int_eq(uc_copy_from_user(&c, guard_page(), 1), -1); /* handler installed */
    volatile char *bad = guard_page();
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        c = *bad;
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan reports it, then exits with 1, or aborts with ASAN_OPTIONS=abort_on_error=1 */
    ck_assert(WIFEXITED(st) ? WEXITSTATUS(st) == 1 : WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
#else
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGSEGV);
#endif
}
END_TEST

/* Another process's memory (uc_remote_begin, the exec'd programs' direct copies): a forked child
 * holds its own copy of two pages, the second unreadable; the world's copies read and write its
 * memory, a bad address there is -1 (EFAULT) and not a refusal, a process that is gone is a
 * refusal (ESRCH) and no fault of the program's. */
START_TEST(remote_copies_read_and_write_another_process)
{
    unsigned char *p = two_pages(PROT_NONE);
    memcpy(p, "child memory", 13);
    int ready[2], done[2]; /* one pipe each way: a single pipe lets the child read its own byte */
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        memcpy(p, "CHILD MEMORY", 13); /* the parent's copy keeps the lower case */
        char b = 1;
        if (write(ready[1], &b, 1) != 1 || read(done[0], &b, 1) != 1)
            _exit(1);
        _exit(memcmp(p + 100, "written by the world", 20) == 0 ? 0 : 2);
    }
    char b;
    ck_assert_int_eq(read(ready[0], &b, 1), 1);
    char got[13] = {0};
    uc_remote_begin(pid);
    ck_assert_int_eq(uc_copy_from_user(got, p, 13), 0);
    ck_assert_int_eq(uc_copy_to_user(p + 100, "written by the world", 20), 0);
    char part[8];
    ck_assert_int_eq(uc_copy_from_user(part, p + PAGE - 4, 8), -1); /* runs into PROT_NONE */
    ck_assert_int_eq(uc_copy_to_user((void *)1, "x", 1), -1);        /* below the first page */
    /* a buffer of the world's own marked local (sendmsg's gather buffer): copies inside it stay
     * in this process, copies that only start inside it or lie outside go to the other one */
    char mine[16] = "world's buffer", back[16] = {0};
    uc_local_range(mine, sizeof mine);
    ck_assert_int_eq(uc_copy_from_user(back, mine, sizeof mine), 0);
    ck_assert_str_eq(back, "world's buffer");
    ck_assert_int_eq(uc_copy_to_user(mine + 8, "BUFFER", 6), 0);
    ck_assert_int_eq(memcmp(mine, "world's BUFFER", 14), 0);
    char child[13] = {0};
    ck_assert_int_eq(uc_copy_from_user(child, p, 13), 0); /* outside: still the child's */
    ck_assert_str_eq(child, "CHILD MEMORY");
    uc_local_range(NULL, 0);
    ck_assert_int_eq(uc_remote_end(), 0);                            /* faults, not refusals */
    ck_assert_str_eq(got, "CHILD MEMORY");
    ck_assert_int_ne(memcmp(p + 100, "written by the world", 20), 0); /* ours untouched */
    ck_assert_int_eq(write(done[1], &b, 1), 1);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    /* the process is gone: the kernel refuses (ESRCH), which the caller can tell from a fault */
    uc_remote_begin(pid);
    ck_assert_int_eq(uc_copy_from_user(got, p, 13), -1);
    ck_assert_int_eq(uc_remote_end(), ESRCH);
    /* and the calling thread's own memory is its own again */
    ck_assert_int_eq(uc_copy_from_user(got, p, 13), 0);
    ck_assert_str_eq(got, "child memory");
    munmap(p, 2 * PAGE);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("usercopy");
    TCase *tc = tcase_create("usercopy");
    tcase_set_timeout(tc, 300); /* thousands of faults: slow under sanitizers on a busy machine */
    tcase_add_test(tc, fast_copies_fault_safely);
    tcase_add_test(tc, syscall_copies_agree);
    tcase_add_test(tc, recovery_repeats_and_keeps_the_mask);
    tcase_add_test(tc, recovery_is_per_thread);
    tcase_add_test(tc, other_faults_still_kill);
    tcase_add_test(tc, remote_copies_read_and_write_another_process);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
