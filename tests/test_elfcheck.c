/*
 * test_elfcheck.c - exec_check_binary (src/exec/elfcheck.c): which programs `exec` refuses to
 * start, and the exact message for each (issue 12 item 5, docs/exec.md#what-cannot-run).
 *
 * Sources of the rules checked here:
 *  - ld.so(8): LD_PRELOAD is read by the dynamic loader, so a program without PT_INTERP never
 *    sees it, and in secure-execution mode (setuid/setgid) preloads are restricted;
 *  - execve(2): `#!` scripts run their interpreter, ENOENT when it does not exist, EACCES for a
 *    file without execute permission or not a regular file, ENOEXEC for an unknown format;
 *    exec(3): a name without a slash is searched in PATH;
 *  - the ELF specification (elf(5)): identification bytes, program headers, note layout;
 *  - Go: the linker's ".go.buildinfo" section (magic "\xff Go buildinf:") and its "Go" build-ID
 *    note (type 4), and the runtime's own system-call stubs (Go's src/runtime/sys_linux_*.s).
 *
 * Two refused programs come from the test build (tests/CMakeLists.txt): hello.c linked -static
 * (ELFCHECK_STATIC) and the same program with a .go.buildinfo section added by objcopy
 * (ELFCHECK_FAKE_GO). The other ELF files are made here, byte by byte.
 */
#define _GNU_SOURCE
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/elfcheck.h"

#define SEE " (see docs/exec.md#what-cannot-run)"
#define MSG_STATIC "statically linked: no dynamic loader runs, so LD_PRELOAD cannot reach it"
#define MSG_GO                                                                                     \
    "a Go program: Go's runtime makes system calls itself, bypassing the C library that "          \
    "LD_PRELOAD replaces"

static char tmpdir[PATH_MAX];
static char why[1024];
static char *saved_path; /* tests change PATH; each starts from the one the suite was given */

static void setup(void)
{
    if (!saved_path)
        saved_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    ck_assert_ptr_nonnull(saved_path);
    setenv("PATH", saved_path, 1);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    ck_assert_uint_lt(strlen(base), 256);
    snprintf(tmpdir, sizeof tmpdir, "%.256s/elfcheck.XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* tmpdir/name, written with the given bytes and mode; returns the path (static storage per
 * call site is not needed: callers copy or use it at once). */
static const char *put_file(const char *name, const void *bytes, size_t n, mode_t mode)
{
    static char path[8][PATH_MAX + 64];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%.32s", tmpdir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
    ck_assert_int_eq(close(fd), 0);
    ck_assert_int_eq(chmod(p, mode), 0);
    return p;
}

static const char *put_text(const char *name, const char *text, mode_t mode)
{
    return put_file(name, text, strlen(text), mode);
}

static void expect_refused(const char *path, const char *file_part, const char *reason)
{
    char want[2048];
    snprintf(want, sizeof want, "%s: %s" SEE, file_part, reason);
    memset(why, 'x', sizeof why);
    ck_assert_int_eq(exec_check_binary(path, why, sizeof why), -1);
    ck_assert_str_eq(why, want);
}

/* The bytes b[0..n) written as tmpdir/name with the mode, refused with the reason. */
static void expect_image_refused(const char *name, const void *b, size_t n, mode_t mode,
                                 const char *reason)
{
    const char *f = put_file(name, b, n, mode);
    expect_refused(f, f, reason);
}

/* An executable text file tmpdir/name, refused with the reason. */
static void expect_text_refused(const char *name, const char *text, const char *reason)
{
    expect_image_refused(name, text, strlen(text), 0755, reason);
}

static void expect_ok(const char *path)
{
    memset(why, 'x', sizeof why);
    int rc = exec_check_binary(path, why, sizeof why);
    ck_assert_msg(rc == 0, "%s refused: %s", path, why);
    ck_assert_str_eq(why, "");
}

/* ---- a hand-made ELF program of this build's class and machine ------------------------------- */

#if __SIZEOF_POINTER__ == 8
typedef Elf64_Ehdr ehdr_t;
typedef Elf64_Phdr phdr_t;
#define MY_CLASS ELFCLASS64
#define OTHER_CLASS ELFCLASS32
#define OTHER_BITS "32-bit"
#define MY_BITS "64-bit"
#else
typedef Elf32_Ehdr ehdr_t;
typedef Elf32_Phdr phdr_t;
#define MY_CLASS ELFCLASS32
#define OTHER_CLASS ELFCLASS64
#define OTHER_BITS "64-bit"
#define MY_BITS "32-bit"
#endif

/* The machine number of this very program, from its own ELF header (the checker compares with
 * the machine it was compiled for, which is the same build). */
static unsigned my_machine(void)
{
    ehdr_t eh;
    int fd = open("/proc/self/exe", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(read(fd, &eh, sizeof eh), (ssize_t)sizeof eh);
    close(fd);
    return eh.e_machine;
}

struct elf_opts {
    const char *interp; /* PT_INTERP path, or NULL for none */
    int dynamic;        /* a PT_DYNAMIC */
    int go_note;        /* a PT_NOTE holding Go's build-ID note, after a GNU note */
};

/* Layout: ELF header, 4 program header slots (PT_LOAD, then the optional ones), the interpreter
 * string, the notes, an empty dynamic section. Returns the size written into buf. */
static size_t make_elf(unsigned char *buf, size_t cap, struct elf_opts o)
{
    memset(buf, 0, cap);
    ehdr_t *eh = (ehdr_t *)buf;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = MY_CLASS;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
#else
    eh->e_ident[EI_DATA] = ELFDATA2MSB;
#endif
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_DYN;
    eh->e_machine = (uint16_t)my_machine();
    eh->e_version = EV_CURRENT;
    eh->e_phoff = sizeof *eh;
    eh->e_ehsize = sizeof *eh;
    eh->e_phentsize = sizeof(phdr_t);
    phdr_t *ph = (phdr_t *)(buf + sizeof *eh);
    size_t off = sizeof *eh + 4 * sizeof(phdr_t);
    int n = 0;
    ph[n].p_type = PT_LOAD;
    ph[n].p_flags = PF_R | PF_X;
    ph[n].p_align = 4096;
    n++;
    if (o.interp) {
        size_t len = strlen(o.interp) + 1;
        memcpy(buf + off, o.interp, len);
        ph[n].p_type = PT_INTERP;
        ph[n].p_offset = off;
        ph[n].p_filesz = len;
        ph[n].p_align = 1;
        n++;
        off = (off + len + 7) & ~(size_t)7;
    }
    if (o.go_note) {
        /* a GNU build-ID note first, as real programs have, then Go's: namesz 4 "Go\0\0", type 4 */
        static const unsigned char notes[] = {
            4, 0,    0,    0,    4,    0, 0,   0,   3,   0,   0,   0,   'G', 'N', 'U',
            0, 0xde, 0xad, 0xbe, 0xef, 4, 0,   0,   0,   8,   0,   0,   0,   4,   0,
            0, 0,    'G',  'o',  0,    0, 'b', 'u', 'i', 'l', 'd', 'i', 'd', 0};
        memcpy(buf + off, notes, sizeof notes);
        ph[n].p_type = PT_NOTE;
        ph[n].p_offset = off;
        ph[n].p_filesz = sizeof notes;
        ph[n].p_align = 4;
        n++;
        off = (off + sizeof notes + 7) & ~(size_t)7;
    }
    if (o.dynamic) {
        ph[n].p_type = PT_DYNAMIC;
        ph[n].p_offset = off;
        ph[n].p_filesz = 2 * sizeof(void *); /* one DT_NULL entry */
        ph[n].p_align = 8;
        n++;
        off += 2 * sizeof(void *);
    }
    eh->e_phnum = (uint16_t)n;
    ck_assert_uint_le(off, cap);
    ph[0].p_filesz = ph[0].p_memsz = off;
    return off;
}

/* /bin/sh stands in for the dynamic loader: the checker only asks that it exist. */
static const struct elf_opts good_elf = {.interp = "/bin/sh", .dynamic = 1};

/* ---- accepted -------------------------------------------------------------------------------- */

START_TEST(true_and_a_script_accepted)
{
    expect_ok("/bin/true");
    /* execvp's lookup: `true` without a slash is found in PATH */
    setenv("PATH", "/nonexistent-dir::/usr/bin:/bin", 1);
    expect_ok("true");
    expect_ok(put_text("ok.sh", "#!/bin/sh\necho hi\n", 0755));
    expect_ok(put_text("okenv.sh", "#! /usr/bin/env sh\necho hi\n", 0755));
    expect_ok(put_text("okenvS.sh", "#!/usr/bin/env -S -i A=1 sh -e\necho hi\n", 0755));
    unsigned char b[1024];
    size_t n = make_elf(b, sizeof b, good_elf);
    expect_ok(put_file("handmade", b, n, 0755));
}
END_TEST

START_TEST(python3_accepted)
{
    char found[PATH_MAX];
    if (exec_find_program("python3", found, sizeof found) != 0) {
        /* scripts/setup.sh installs python3 for the test command; say so if it is missing */
        ck_abort_msg("python3 is not in PATH (sh scripts/setup.sh installs it)");
    }
    expect_ok("python3");
    expect_ok(found);
}
END_TEST

/* ---- refused: where the file is -------------------------------------------------------------- */

START_TEST(not_found_and_not_executable)
{
    expect_refused("/nonexistent/prog", "/nonexistent/prog", "not found");
    setenv("PATH", "/nonexistent-dir:/bin", 1);
    expect_refused("no-such-program-vmcisim", "no-such-program-vmcisim", "not found in PATH");
    expect_refused("", "", "not found (an empty program name)");
    expect_refused(NULL, "", "not found (an empty program name)");
    const char *f = put_text("plain", "#!/bin/sh\n", 0644);
    expect_refused(f, f, "not executable (no execute permission)");
    expect_refused(tmpdir, tmpdir, "not executable (not a regular file)");
    /* in PATH but without execute permission: execvp reports EACCES, so do we */
    setenv("PATH", tmpdir, 1);
    expect_refused("plain", "plain",
                   "not executable (found in PATH, but without execute permission)");
    /* an executable of the name later in PATH wins, as with execvp */
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s:/usr/bin:/bin", tmpdir);
    setenv("PATH", path, 1);
    char found[PATH_MAX];
    ck_assert_int_eq(exec_find_program("true", found, sizeof found), 0);
    ck_assert(strcmp(found, "/usr/bin/true") == 0 || strcmp(found, "/bin/true") == 0);
    put_text("true", "not a program\n", 0644);
    ck_assert_int_eq(exec_find_program("true", found, sizeof found), 0);
    ck_assert(strcmp(found, "/usr/bin/true") == 0 || strcmp(found, "/bin/true") == 0);
    errno = 0;
    ck_assert_int_eq(exec_find_program("plain", found, sizeof found), -1);
    ck_assert_int_eq(errno, EACCES);
    ck_assert_int_eq(exec_find_program("no-such-program-vmcisim", found, sizeof found), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(exec_find_program("/bin/true", found, 5), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(neither_elf_nor_script)
{
    expect_text_refused("text", "echo no shebang\n", "neither an ELF program nor a '#!' script");
    expect_text_refused("empty", "", "neither an ELF program nor a '#!' script");
    expect_image_refused("elf3", ELFMAG, 3, 0755, "neither an ELF program nor a '#!' script");
}
END_TEST

/* ---- refused: what the file is --------------------------------------------------------------- */

START_TEST(static_binary_refused)
{
    expect_refused(ELFCHECK_STATIC, ELFCHECK_STATIC, MSG_STATIC);
    /* hand-made: no PT_INTERP; and a PT_INTERP without PT_DYNAMIC (nothing to resolve) */
    unsigned char b[1024];
    size_t n = make_elf(b, sizeof b, (struct elf_opts){.dynamic = 1});
    expect_image_refused("nointerp", b, n, 0755, MSG_STATIC);
    n = make_elf(b, sizeof b, (struct elf_opts){.interp = "/bin/sh"});
    expect_image_refused("nodynamic", b, n, 0755, MSG_STATIC);
}
END_TEST

START_TEST(go_binary_refused)
{
    /* a dynamically linked C program with Go's .go.buildinfo section added */
    expect_refused(ELFCHECK_FAKE_GO, ELFCHECK_FAKE_GO, MSG_GO);
    /* no section table at all: Go's build-ID note in a PT_NOTE segment suffices */
    unsigned char b[1024];
    size_t n =
        make_elf(b, sizeof b, (struct elf_opts){.interp = "/bin/sh", .dynamic = 1, .go_note = 1});
    expect_image_refused("gonote", b, n, 0755, MSG_GO);
    /* Go before static: a static Go program gets the Go reason, the more useful one */
    n = make_elf(b, sizeof b, (struct elf_opts){.go_note = 1});
    expect_image_refused("gostatic", b, n, 0755, MSG_GO);
}
END_TEST

START_TEST(other_machine_refused)
{
#define OTHER_CLASS_MSG                                                                            \
    "built for another machine (a " OTHER_BITS " ELF file; this vmcisim runs " MY_BITS " programs" \
                                                                                       ")"
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OTHER_ENDIAN_MSG                                                                           \
    "built for another machine (a big-endian ELF file; this vmcisim runs little-endian programs)"
#else
#define OTHER_ENDIAN_MSG                                                                           \
    "built for another machine (a little-endian ELF file; this vmcisim runs big-endian programs)"
#endif
    unsigned char b[1024];
    size_t n = make_elf(b, sizeof b, good_elf);
    b[EI_CLASS] = OTHER_CLASS;
    expect_image_refused("class", b, n, 0755, OTHER_CLASS_MSG);
    /* a bare 32-bit ELF header and nothing else is refused for its class, before its length */
    expect_image_refused("class16", b, EI_NIDENT, 0755, OTHER_CLASS_MSG);
    n = make_elf(b, sizeof b, good_elf);
    b[EI_DATA] = b[EI_DATA] == ELFDATA2LSB ? ELFDATA2MSB : ELFDATA2LSB;
    expect_image_refused("endian", b, n, 0755, OTHER_ENDIAN_MSG);
    n = make_elf(b, sizeof b, good_elf);
    ehdr_t *eh = (ehdr_t *)b;
    eh->e_machine = eh->e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
#if defined(__x86_64__)
    expect_image_refused("machine", b, n, 0755,
                         "built for another machine (ELF machine aarch64; this vmcisim runs x86-64 "
                         "programs)");
#elif defined(__aarch64__)
    expect_image_refused("machine", b, n, 0755,
                         "built for another machine (ELF machine x86-64; this vmcisim runs aarch64 "
                         "programs)");
#endif
    n = make_elf(b, sizeof b, good_elf);
    b[EI_CLASS] = 7;
    expect_image_refused("class7", b, n, 0755, "a malformed ELF file (unknown ELF class 7)");
}
END_TEST

START_TEST(not_a_program_refused)
{
    unsigned char b[1024];
    size_t n = make_elf(b, sizeof b, good_elf);
    ((ehdr_t *)b)->e_type = ET_REL;
    expect_image_refused("object.o", b, n, 0755,
                         "an ELF file but not a program (a relocatable object)");
    ((ehdr_t *)b)->e_type = ET_CORE;
    expect_image_refused("core", b, n, 0755, "an ELF file but not a program (a core dump)");
    n = make_elf(b, sizeof b, (struct elf_opts){.interp = "/nonexistent/ld.so", .dynamic = 1});
    expect_image_refused("noloader", b, n, 0755,
                         "its dynamic loader /nonexistent/ld.so is not found");
}
END_TEST

START_TEST(setuid_setgid_refused)
{
    unsigned char b[1024];
    size_t n = make_elf(b, sizeof b, good_elf);
    expect_image_refused("suid", b, n, 04755,
                         "setuid: the dynamic loader ignores LD_PRELOAD for it");
    expect_image_refused("sgid", b, n, 02755,
                         "setgid: the dynamic loader ignores LD_PRELOAD for it");
    /* set-group-ID without group execute marks mandatory locking, not setgid (stat(2)) */
    expect_ok(put_file("lockbit", b, n, 02705));
}
END_TEST

/* ---- scripts --------------------------------------------------------------------------------- */

START_TEST(scripts_follow_their_interpreter)
{
    expect_text_refused("noint.sh", "#!/nonexistent\n", "interpreter /nonexistent: not found");
    expect_text_refused("empty.sh", "#!   \nrest\n", "its '#!' line names no interpreter");
    expect_text_refused("static.sh", "#!" ELFCHECK_STATIC " -x\n",
                        "interpreter " ELFCHECK_STATIC ": " MSG_STATIC);
    expect_text_refused("go.sh", "#!/usr/bin/env -S " ELFCHECK_FAKE_GO "\n",
                        "interpreter " ELFCHECK_FAKE_GO ": " MSG_GO);
    setenv("PATH", "/usr/bin:/bin", 1);
    expect_text_refused("envmissing.py", "#!/usr/bin/env no-such-python-vmcisim\n",
                        "interpreter no-such-python-vmcisim: not found in PATH");
    /* without -S the kernel gives env the whole rest as one name, which env does not find */
    expect_text_refused("envspace.sh", "#!/usr/bin/env sh -e\n",
                        "interpreter sh -e: not found in PATH");
    expect_text_refused("envnone.sh", "#!/usr/bin/env -S A=1\n",
                        "its '#!/usr/bin/env' line names no program");
    /* a script whose interpreter is a script: followed, up to the kernel's 5 levels */
    char line[PATH_MAX + 8];
    char prev[PATH_MAX];
    snprintf(prev, sizeof prev, "%s", ELFCHECK_STATIC);
    for (int i = 1; i <= 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "chain%d", i);
        snprintf(line, sizeof line, "#!%s\n", prev);
        const char *f = put_text(name, line, 0755);
        snprintf(prev, sizeof prev, "%s", f);
        if (i <= 5) {
            char want[2 * PATH_MAX];
            snprintf(want, sizeof want, "interpreter %s: " MSG_STATIC, ELFCHECK_STATIC);
            expect_refused(f, f, want);
        }
    }
    expect_refused(prev, prev, "more than 5 '#!' scripts nested (the kernel refuses them)");
}
END_TEST

/* ---- hostile files --------------------------------------------------------------------------- */

static const char *elf_refusal_for_length(size_t len, size_t phend)
{
    if (len < SELFMAG)
        return "neither an ELF program nor a '#!' script";
    if (len < sizeof(ehdr_t))
        return "a truncated ELF file (its header is cut short)";
    if (len < phend)
        return "a malformed ELF file (its program headers lie beyond the end of the file)";
    return NULL;
}

START_TEST(truncated_elf_refused_at_every_length)
{
    unsigned char b[1024];
    size_t n = make_elf(b, sizeof b, good_elf);
    size_t phend = sizeof(ehdr_t) + ((ehdr_t *)b)->e_phnum * sizeof(phdr_t);
    for (size_t len = 0; len < phend; len++) {
        expect_image_refused("cut", b, len, 0755, elf_refusal_for_length(len, phend));
    }
    /* cut inside the loader's path: PT_INTERP lies beyond the end */
    expect_image_refused("cut", b, phend + 3, 0755,
                         "a malformed ELF file (its PT_INTERP is not a path)");
    /* huge counts and offsets do not wrap around */
    ehdr_t *eh = (ehdr_t *)b;
    eh->e_phoff = (__typeof__(eh->e_phoff))-8;
    expect_image_refused(
        "wrap", b, n, 0755,
        "a malformed ELF file (its program headers lie beyond the end of the file)");
    n = make_elf(b, sizeof b, good_elf);
    eh->e_phentsize = 12;
    expect_image_refused("entsize", b, n, 0755, "a malformed ELF file (no usable program headers)");
}
END_TEST

/* A little fuzzing: random bytes of a real program's first page and of its section table, and
 * random cuts, give 0 with an empty message or -1 with a well-formed one, and never a read
 * outside the file (ASan checks the buffers). Fixed seed: the same files every run. */
START_TEST(fuzzed_programs_give_a_verdict)
{
    int fd = open("/bin/true", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    size_t size = (size_t)st.st_size;
    unsigned char *orig = malloc(size), *b = malloc(size);
    ck_assert_ptr_nonnull(orig);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(read(fd, orig, size), (ssize_t)size);
    close(fd);
    const ehdr_t *eh = (const ehdr_t *)orig;
    size_t shoff = eh->e_shoff < size ? (size_t)eh->e_shoff : 0;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int accepted = 0, refused = 0;
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/fuzz", tmpdir);
    for (int round = 0; round < 600; round++) {
        memcpy(b, orig, size);
        size_t len = size;
        int flips = 1 + round % 8;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = k % 2 == 0 || shoff == 0 ? x % 1024 : shoff + x % (size - shoff);
            b[at % size] = (unsigned char)(x >> 32);
        }
        if (round % 5 == 0) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            len = x % size;
        }
        put_file("fuzz", b, len, 0755);
        memset(why, 'x', sizeof why);
        int rc = exec_check_binary(path, why, sizeof why);
        if (rc == 0) {
            ck_assert_str_eq(why, "");
            accepted++;
        } else {
            ck_assert_int_eq(rc, -1);
            size_t wl = strlen(why);
            ck_assert_uint_gt(wl, strlen(path) + strlen(SEE));
            ck_assert_int_eq(strncmp(why, path, strlen(path)), 0);
            ck_assert_str_eq(why + wl - strlen(SEE), SEE);
            refused++;
        }
    }
    ck_assert_int_eq(accepted + refused, 600);
    ck_assert_int_gt(refused, 0);
    ck_assert_int_gt(accepted, 0);
    free(orig);
    free(b);
}
END_TEST

START_TEST(message_buffer_limits)
{
    char small[12];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(exec_check_binary("/nonexistent/prog", small, sizeof small), -1);
    ck_assert_str_eq(small, "/nonexisten"); /* truncated, NUL-terminated */
    ck_assert_int_eq(exec_check_binary("/nonexistent/prog", NULL, 0), -1);
    ck_assert_int_eq(exec_check_binary("/bin/true", NULL, 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("elfcheck");
    TCase *tc = tcase_create("elfcheck");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, true_and_a_script_accepted);
    tcase_add_test(tc, python3_accepted);
    tcase_add_test(tc, not_found_and_not_executable);
    tcase_add_test(tc, neither_elf_nor_script);
    tcase_add_test(tc, static_binary_refused);
    tcase_add_test(tc, go_binary_refused);
    tcase_add_test(tc, other_machine_refused);
    tcase_add_test(tc, not_a_program_refused);
    tcase_add_test(tc, setuid_setgid_refused);
    tcase_add_test(tc, scripts_follow_their_interpreter);
    tcase_add_test(tc, truncated_elf_refused_at_every_length);
    tcase_add_test(tc, fuzzed_programs_give_a_verdict);
    tcase_add_test(tc, message_buffer_limits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
