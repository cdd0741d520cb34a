/*
 * words.c - the command line of an `exec`: shell-like words without a shell, the program's
 * path as execvp would find it, and where the preload library is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/exec.h"
#include "sim/alloc.h"

void exec_free_words(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

/* Quotes and backslashes as sh(1) reads them: '...' literal, "..." with \" \\ \$ \` escapes,
 * a backslash outside quotes takes the next character literally. Nothing is expanded. */
int exec_split_words(const char *line, char ***out, char *why, size_t n)
{
    size_t cap = 8, nw = 0, len = strlen(line);
    char **v = vmcisim_calloc(cap, sizeof *v);
    char *w = vmcisim_malloc(len + 1);
    if (!v || !w) {
        free(v);
        free(w);
        snprintf(why, n, "out of memory");
        return -1;
    }
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t k = 0;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '\'') {
                const char *e = strchr(p + 1, '\'');
                if (!e) {
                    snprintf(why, n, "a closing ' in the command line");
                    goto fail;
                }
                memcpy(w + k, p + 1, (size_t)(e - p - 1));
                k += (size_t)(e - p - 1);
                p = e + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                        p++;
                    w[k++] = *p++;
                }
                if (*p != '"') {
                    snprintf(why, n, "a closing \" in the command line");
                    goto fail;
                }
                p++;
            } else if (*p == '\\') {
                if (!p[1]) {
                    snprintf(why, n, "a character after the final backslash");
                    goto fail;
                }
                w[k++] = p[1];
                p += 2;
            } else {
                w[k++] = *p++;
            }
        }
        if (nw + 2 > cap) {
            cap *= 2;
            char **nv = vmcisim_realloc(v, cap * sizeof *nv);
            if (!nv) {
                snprintf(why, n, "out of memory");
                goto fail;
            }
            v = nv;
        }
        v[nw] = strndup(w, k);
        if (!v[nw]) {
            snprintf(why, n, "out of memory");
            goto fail;
        }
        v[++nw] = NULL;
    }
    free(w);
    if (nw == 0) {
        snprintf(why, n, "a program to run (the command line is empty)");
        exec_free_words(v);
        return -1;
    }
    *out = v;
    return 0;
fail:
    free(w);
    exec_free_words(v);
    return -1;
}

static int executable(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int exec_resolve(const char *argv0, char *out, size_t n)
{
    if (strchr(argv0, '/')) {
        if (!executable(argv0) || snprintf(out, n, "%s", argv0) >= (int)n)
            return -1;
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *e = strchr(path, ':');
        size_t dl = e ? (size_t)(e - path) : strlen(path);
        int m = snprintf(out, n, "%.*s/%s", (int)dl, dl ? path : ".", argv0);
        if (m > 0 && (size_t)m < n && executable(out))
            return 0;
        path += dl + (e != NULL);
    }
    return -1;
}

#ifndef VMCISIM_INSTALL_LIBDIR
#define VMCISIM_INSTALL_LIBDIR "/usr/local/lib"
#endif
#define PRELOAD_NAME "libvmcisim-preload.so"

int exec_find_preload(char *out, size_t n, char *why, size_t whyn)
{
    const char *env = getenv("VMCISIM_PRELOAD");
    if (env && *env) {
        if (access(env, R_OK) == 0 && snprintf(out, n, "%s", env) < (int)n)
            return 0;
        snprintf(why, whyn, "VMCISIM_PRELOAD=%s to name a readable file", env);
        return -1;
    }
    char self[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
    if (l > 0) {
        self[l] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            /* the build dir (next to the binary), or an install prefix's lib (bin/../lib) */
            if (snprintf(out, n, "%s/%s", self, PRELOAD_NAME) < (int)n && access(out, R_OK) == 0)
                return 0;
            if (snprintf(out, n, "%s/../lib/%s", self, PRELOAD_NAME) < (int)n &&
                access(out, R_OK) == 0)
                return 0;
        }
    }
    if (snprintf(out, n, "%s/%s", VMCISIM_INSTALL_LIBDIR, PRELOAD_NAME) < (int)n &&
        access(out, R_OK) == 0)
        return 0;
    snprintf(why, whyn, "%s next to the vmcisim binary or in %s (or set VMCISIM_PRELOAD)",
             PRELOAD_NAME, VMCISIM_INSTALL_LIBDIR);
    return -1;
}
