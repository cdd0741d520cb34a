/*
 * elfcheck.c - refuse, before it starts, a program the interposer could not reach (elfcheck.h).
 *
 * The ELF file is parsed by hand from <elf.h> with every offset checked against the file's
 * size, a piece at a time with pread: a program of tens of megabytes is never read whole, and a
 * truncated or hostile file ends in a refusal, never in a read outside a buffer. Only what the
 * kernel and the dynamic loader act on decides (the ELF header, the program headers, PT_NOTE
 * contents); the section table, which neither needs, is only searched for Go's sections and
 * is skipped when it is broken, so a program the kernel would run is never refused for it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/elfcheck.h"
#include "posix/real.h"

/* The kernel's limits for `#!`: the first 256 bytes are read (BINPRM_BUF_SIZE), and an
 * interpreter may itself be a script: 5 nested scripts run, a 6th fails with ELOOP (execve(2);
 * so on Linux 6.x: bash reports "bad interpreter: Too many levels of symbolic links"). */
#define SHEBANG_BUF 256
#define MAX_SCRIPT_DEPTH 5
/* A note segment is scanned up to this many bytes: Go's build-id note comes first in its own. */
#define NOTE_SCAN_MAX 4096

/* ---- this build's own ELF identity ----------------------------------------------------------- */

#if __SIZEOF_POINTER__ == 8
typedef Elf64_Ehdr ehdr_t;
typedef Elf64_Phdr phdr_t;
typedef Elf64_Shdr shdr_t;
#define NATIVE_CLASS ELFCLASS64
#define NATIVE_BITS "64-bit"
#else
typedef Elf32_Ehdr ehdr_t;
typedef Elf32_Phdr phdr_t;
typedef Elf32_Shdr shdr_t;
#define NATIVE_CLASS ELFCLASS32
#define NATIVE_BITS "32-bit"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#define NATIVE_ENDIAN "little-endian"
#else
#define NATIVE_DATA ELFDATA2MSB
#define NATIVE_ENDIAN "big-endian"
#endif

/* The machine this file is compiled for; 0 (EM_NONE) where it is not listed: the class and byte
 * order are still checked there. */
#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__i386__)
#define NATIVE_MACHINE EM_386
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__arm__)
#define NATIVE_MACHINE EM_ARM
#elif defined(__riscv)
#define NATIVE_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define NATIVE_MACHINE EM_PPC64
#elif defined(__s390x__)
#define NATIVE_MACHINE EM_S390
#else
#define NATIVE_MACHINE EM_NONE
#endif

static const char *machine_name(unsigned m, char *buf, size_t n)
{
    switch (m) {
    case EM_X86_64:
        return "x86-64";
    case EM_386:
        return "i386";
    case EM_AARCH64:
        return "aarch64";
    case EM_ARM:
        return "arm";
    case EM_RISCV:
        return "riscv";
    case EM_PPC64:
        return "ppc64";
    case EM_PPC:
        return "ppc";
    case EM_S390:
        return "s390";
    case EM_MIPS:
        return "mips";
    default:
        snprintf(buf, n, "number %u", m);
        return buf;
    }
}

/* ---- the refusal message --------------------------------------------------------------------- */

struct check {
    char *why;
    size_t whylen;
    const char *top; /* the program as found; a refusal of another file names it as interpreter */
};

__attribute__((format(printf, 3, 4))) static int refuse(struct check *c, const char *file,
                                                        const char *fmt, ...)
{
    if (c->whylen == 0)
        return -1;
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (file == c->top || strcmp(file, c->top) == 0)
        snprintf(c->why, c->whylen, "%s: %s (see %s)", c->top, reason, EXEC_CHECK_DOC);
    else
        snprintf(c->why, c->whylen, "%s: interpreter %s: %s (see %s)", c->top, file, reason,
                 EXEC_CHECK_DOC);
    return -1;
}

/* ---- PATH lookup, as execvp ------------------------------------------------------------------ */

static bool is_exec_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int exec_find_program(const char *name, char *out, size_t outlen)
{
    if (name == NULL || name[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    size_t nlen = strlen(name);
    if (strchr(name, '/') != NULL) {
        if (nlen >= outlen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out, name, nlen + 1);
        return 0;
    }
    if (nlen > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* execvp's default search path when PATH is unset (glibc's confstr(_CS_PATH)) */
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin";
    bool denied = false;
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dlen = (size_t)(end - p);
        const char *dir = p;
        if (dlen == 0) { /* an empty element is the current directory */
            dir = ".";
            dlen = 1;
        }
        char cand[PATH_MAX];
        if (dlen + 1 + nlen < sizeof cand) {
            memcpy(cand, dir, dlen);
            cand[dlen] = '/';
            memcpy(cand + dlen + 1, name, nlen + 1);
            struct stat st;
            if (stat(cand, &st) == 0) {
                if (is_exec_file(cand)) {
                    if (dlen + 1 + nlen >= outlen) {
                        errno = ENAMETOOLONG;
                        return -1;
                    }
                    memcpy(out, cand, dlen + 1 + nlen + 1);
                    return 0;
                }
                denied = true; /* execvp goes on past EACCES, and reports it at the end */
            }
        }
        if (*end == '\0')
            break;
        p = end;
    }
    errno = denied ? EACCES : ENOENT;
    return -1;
}

/* ---- bounded reads --------------------------------------------------------------------------- */

/* Read exactly n bytes at off, or fail (-1) when they do not all lie within the file's size. */
static int read_at(int fd, uint64_t size, uint64_t off, void *buf, size_t n)
{
    if (off > size || n > size - off)
        return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* ---- Go -------------------------------------------------------------------------------------- */

/* Does a note area hold a note named "Go" (Go's linker writes its build ID, and with older
 * toolchains package lists and ABI hashes, under that name)? */
static bool notes_name_go(const unsigned char *p, size_t len, size_t align)
{
    size_t off = 0;
    while (len - off >= 12) {
        uint32_t namesz, descsz;
        memcpy(&namesz, p + off, 4);
        memcpy(&descsz, p + off + 4, 4);
        off += 12;
        if (namesz > len - off)
            return false;
        /* Go's linker writes the name padded, "Go\0\0" (namesz 4); "Go\0" is the plain form */
        if ((namesz == 3 && memcmp(p + off, "Go", 3) == 0) ||
            (namesz == 4 && memcmp(p + off, "Go\0", 4) == 0))
            return true;
        size_t skip = ((size_t)namesz + align - 1) / align * align;
        if (skip > len - off)
            return false;
        off += skip;
        skip = ((size_t)descsz + align - 1) / align * align;
        if (descsz > len - off || skip > len - off)
            return false;
        off += skip;
    }
    return false;
}

static bool segment_is_go_note(int fd, uint64_t size, const phdr_t *ph)
{
    unsigned char buf[NOTE_SCAN_MAX];
    uint64_t n = ph->p_filesz;
    if (ph->p_offset >= size)
        return false;
    if (n > size - ph->p_offset)
        n = size - ph->p_offset;
    if (n > sizeof buf)
        n = sizeof buf;
    if (read_at(fd, size, ph->p_offset, buf, (size_t)n) != 0)
        return false;
    return notes_name_go(buf, (size_t)n, ph->p_align == 8 ? 8 : 4);
}

/* A section named .go.buildinfo or .note.go.buildid. A broken section table answers no: the
 * kernel never reads it, and the PT_NOTE check covers Go's build ID without it. */
static bool sections_name_go(int fd, uint64_t size, const ehdr_t *eh)
{
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(shdr_t) || eh->e_shstrndx == SHN_UNDEF)
        return false;
    uint64_t shnum = eh->e_shnum;
    shdr_t sh;
    if (shnum == 0) { /* more than SHN_LORESERVE sections: the count is in section 0 */
        if (read_at(fd, size, eh->e_shoff, &sh, sizeof sh) != 0)
            return false;
        shnum = sh.sh_size;
    }
    uint64_t stridx = eh->e_shstrndx;
    if (stridx == SHN_XINDEX) {
        if (read_at(fd, size, eh->e_shoff, &sh, sizeof sh) != 0)
            return false;
        stridx = sh.sh_link;
    }
    if (stridx >= shnum || shnum > (size - (eh->e_shoff < size ? eh->e_shoff : size)) / sizeof sh)
        return false;
    shdr_t strsec;
    if (read_at(fd, size, eh->e_shoff + stridx * sizeof sh, &strsec, sizeof strsec) != 0 ||
        strsec.sh_type == SHT_NOBITS)
        return false;
    static const char *const go_sections[] = {".go.buildinfo", ".note.go.buildid"};
    for (uint64_t i = 0; i < shnum; i++) {
        if (read_at(fd, size, eh->e_shoff + i * sizeof sh, &sh, sizeof sh) != 0)
            return false;
        if (sh.sh_name >= strsec.sh_size)
            continue;
        char name[sizeof ".note.go.buildid" + 1];
        uint64_t at = strsec.sh_offset + sh.sh_name;
        if (at < strsec.sh_offset || at >= size)
            continue;
        size_t n = sizeof name;
        if (n > size - at)
            n = (size_t)(size - at);
        if (read_at(fd, size, at, name, n) != 0)
            continue;
        for (size_t k = 0; k < sizeof go_sections / sizeof go_sections[0]; k++) {
            size_t len = strlen(go_sections[k]) + 1; /* with its NUL */
            if (len <= n && memcmp(name, go_sections[k], len) == 0)
                return true;
        }
    }
    return false;
}

/* ---- ELF ------------------------------------------------------------------------------------- */

static int check_elf(struct check *c, const char *file, int fd, const struct stat *st)
{
    uint64_t size = (uint64_t)st->st_size;
    unsigned char ident[EI_NIDENT];
    if (read_at(fd, size, 0, ident, sizeof ident) != 0)
        return refuse(c, file, "a truncated ELF file (its header is cut short)");
    if (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64)
        return refuse(c, file, "a malformed ELF file (unknown ELF class %u)", ident[EI_CLASS]);
    if (ident[EI_CLASS] != NATIVE_CLASS)
        return refuse(c, file,
                      "built for another machine (a %s ELF file; this vmcisim runs %s "
                      "programs)",
                      ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "64-bit", NATIVE_BITS);
    if (ident[EI_DATA] != NATIVE_DATA)
        return refuse(c, file,
                      "built for another machine (a %s ELF file; this vmcisim runs %s "
                      "programs)",
                      ident[EI_DATA] == ELFDATA2MSB   ? "big-endian"
                      : ident[EI_DATA] == ELFDATA2LSB ? "little-endian"
                                                      : "unknown byte order",
                      NATIVE_ENDIAN);
    ehdr_t eh;
    if (read_at(fd, size, 0, &eh, sizeof eh) != 0)
        return refuse(c, file, "a truncated ELF file (its header is cut short)");
    char b1[32], b2[32];
    if (NATIVE_MACHINE != EM_NONE && eh.e_machine != NATIVE_MACHINE)
        return refuse(c, file,
                      "built for another machine (ELF machine %s; this vmcisim runs %s "
                      "programs)",
                      machine_name(eh.e_machine, b1, sizeof b1),
                      machine_name(NATIVE_MACHINE, b2, sizeof b2));
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return refuse(c, file, "an ELF file but not a program (%s)",
                      eh.e_type == ET_REL    ? "a relocatable object"
                      : eh.e_type == ET_CORE ? "a core dump"
                                             : "unknown ELF type");
    /* The kernel honours set-group-ID only together with group execute permission (without
     * it the bit marks mandatory locking). */
    if (st->st_mode & S_ISUID)
        return refuse(c, file, "setuid: the dynamic loader ignores LD_PRELOAD for it");
    if ((st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
        return refuse(c, file, "setgid: the dynamic loader ignores LD_PRELOAD for it");

    /* The program headers: all of them inside the file, or the kernel refuses it too. */
    uint64_t phnum = eh.e_phnum;
    if (phnum == PN_XNUM) { /* the real count is in section 0's sh_info */
        shdr_t sh0;
        if (eh.e_shoff == 0 || read_at(fd, size, eh.e_shoff, &sh0, sizeof sh0) != 0)
            return refuse(c, file, "a malformed ELF file (its program header count is missing)");
        phnum = sh0.sh_info;
    }
    if (phnum == 0 || eh.e_phentsize != sizeof(phdr_t))
        return refuse(c, file, "a malformed ELF file (no usable program headers)");
    if (eh.e_phoff > size || phnum > (size - eh.e_phoff) / sizeof(phdr_t))
        return refuse(c, file,
                      "a malformed ELF file (its program headers lie beyond the end "
                      "of the file)");
    bool has_interp = false, has_dynamic = false, go = false;
    phdr_t interp = {0};
    for (uint64_t i = 0; i < phnum; i++) {
        phdr_t ph;
        if (read_at(fd, size, eh.e_phoff + i * sizeof ph, &ph, sizeof ph) != 0)
            return refuse(c, file,
                          "a malformed ELF file (its program headers lie beyond the "
                          "end of the file)");
        if (ph.p_type == PT_INTERP) {
            has_interp = true;
            interp = ph;
        } else if (ph.p_type == PT_DYNAMIC) {
            has_dynamic = true;
        } else if (ph.p_type == PT_NOTE && !go) {
            go = segment_is_go_note(fd, size, &ph);
        }
    }
    if (go || sections_name_go(fd, size, &eh))
        return refuse(c, file,
                      "a Go program: Go's runtime makes system calls itself, bypassing "
                      "the C library that LD_PRELOAD replaces");
    if (!has_interp || !has_dynamic)
        return refuse(c, file,
                      "statically linked: no dynamic loader runs, so LD_PRELOAD "
                      "cannot reach it");
    /* The loader it names must exist, or the kernel refuses to start it (ENOENT). */
    char loader[PATH_MAX];
    if (interp.p_filesz < 2 || interp.p_filesz > sizeof loader ||
        read_at(fd, size, interp.p_offset, loader, (size_t)interp.p_filesz) != 0 ||
        loader[interp.p_filesz - 1] != '\0' || strlen(loader) != interp.p_filesz - 1)
        return refuse(c, file, "a malformed ELF file (its PT_INTERP is not a path)");
    if (!is_exec_file(loader))
        return refuse(c, file, "its dynamic loader %s is not found", loader);
    return 0;
}

/* ---- scripts --------------------------------------------------------------------------------- */

static int check_file(struct check *c, const char *file, int depth);

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The program that `/usr/bin/env ARG` runs. Without -S the kernel hands env the rest of the
 * line as one argument, so that is the name env looks up (spaces and all); with -S env splits
 * it, skipping its own options and NAME=VALUE settings. Writes the name to out; false if none. */
static bool env_program(const char *arg, char *out, size_t outlen)
{
    const char *p = arg;
    if (strncmp(p, "-S", 2) != 0) {
        if (strlen(p) >= outlen)
            return false;
        strcpy(out, p);
        return out[0] != '\0';
    }
    p += 2;
    bool skip_next = false;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            return false;
        const char *w = p;
        while (*p != '\0' && !is_blank(*p))
            p++;
        size_t n = (size_t)(p - w);
        if (skip_next) {
            skip_next = false;
            continue;
        }
        /* -u NAME and -C DIR take the next word; other options and settings stand alone */
        if ((n == 2 && (memcmp(w, "-u", 2) == 0 || memcmp(w, "-C", 2) == 0)) ||
            (n == 7 && memcmp(w, "--unset", 7) == 0) || (n == 7 && memcmp(w, "--chdir", 7) == 0)) {
            skip_next = true;
            continue;
        }
        if (w[0] == '-' || memchr(w, '=', n) != NULL)
            continue;
        if (n >= outlen)
            return false;
        memcpy(out, w, n);
        out[n] = '\0';
        return true;
    }
}

static int check_script(struct check *c, const char *file, const char *head, size_t n, int depth)
{
    /* The line after "#!": up to the newline, or what the kernel's buffer holds. */
    char line[SHEBANG_BUF + 1];
    size_t len = 0;
    for (size_t i = 2; i < n && head[i] != '\n' && head[i] != '\0'; i++)
        line[len++] = head[i];
    line[len] = '\0';
    while (len > 0 && (is_blank(line[len - 1]) || line[len - 1] == '\r'))
        line[--len] = '\0';
    char *p = line;
    while (is_blank(*p))
        p++;
    char *interp = p;
    while (*p != '\0' && !is_blank(*p))
        p++;
    if (*p != '\0') {
        *p++ = '\0';
        while (is_blank(*p))
            p++;
    }
    const char *arg = p;
    if (interp[0] == '\0')
        return refuse(c, file, "its '#!' line names no interpreter");
    if (depth >= MAX_SCRIPT_DEPTH)
        return refuse(c, c->top, "more than %d '#!' scripts nested (the kernel refuses them)",
                      MAX_SCRIPT_DEPTH);
    if (check_file(c, interp, depth + 1) != 0)
        return -1;
    const char *base = strrchr(interp, '/');
    base = base ? base + 1 : interp;
    if (strcmp(base, "env") != 0 || arg[0] == '\0')
        return 0;
    char name[PATH_MAX], found[PATH_MAX];
    if (!env_program(arg, name, sizeof name))
        return refuse(c, file, "its '#!%s' line names no program", interp);
    if (exec_find_program(name, found, sizeof found) != 0)
        return refuse(c, name,
                      errno == EACCES ? "not executable (found in PATH, but without "
                                        "execute permission)"
                                      : "not found in PATH");
    return check_file(c, found, depth + 1);
}

/* ---- one file -------------------------------------------------------------------------------- */

static int check_file(struct check *c, const char *file, int depth)
{
    struct stat st;
    if (stat(file, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return refuse(c, file, "not found");
        return refuse(c, file, "not found (%s)", strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return refuse(c, file, "not executable (not a regular file)");
    if (access(file, X_OK) != 0)
        return refuse(c, file, "not executable (no execute permission)");
    /* O_NONBLOCK: should the file turn into a FIFO between stat and open, do not hang on it */
    int fd = REAL(open)(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return refuse(c, file, "cannot be read to check it (%s)", strerror(errno));
    int rc;
    struct stat fst;
    char head[SHEBANG_BUF];
    ssize_t n = -1;
    if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
        rc = refuse(c, file, "not executable (not a regular file)");
    } else {
        do
            n = pread(fd, head, sizeof head, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            rc = refuse(c, file, "cannot be read to check it (%s)", strerror(errno));
        else if (n >= 2 && head[0] == '#' && head[1] == '!')
            rc = check_script(c, file, head, (size_t)n, depth);
        else if (n >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0)
            rc = check_elf(c, file, fd, &fst);
        else
            rc = refuse(c, file, "neither an ELF program nor a '#!' script");
    }
    REAL(close)(fd);
    return rc;
}

int exec_check_binary(const char *path, char *why, size_t whylen)
{
    char found[PATH_MAX];
    struct check c = {.why = why, .whylen = whylen, .top = path ? path : ""};
    if (whylen > 0)
        why[0] = '\0';
    if (exec_find_program(c.top, found, sizeof found) != 0) {
        if (c.top[0] == '\0')
            return refuse(&c, c.top, "not found (an empty program name)");
        if (errno == ENAMETOOLONG)
            return refuse(&c, c.top, "not found (the name is too long)");
        return refuse(&c, c.top,
                      errno == EACCES ? "not executable (found in PATH, but without "
                                        "execute permission)"
                                      : "not found in PATH");
    }
    c.top = found;
    return check_file(&c, found, 0);
}
