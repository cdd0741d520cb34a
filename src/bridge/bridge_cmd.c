/*
 * bridge_cmd.c - the one line an outside program sends first on the bridge's socket. Parsed as
 * Firecracker's muxer does (formats.md §2.1): split on white space, the first word compared to
 * "connect" case-insensitively, the second parsed as a u32 (Rust's parse: decimal digits with
 * an optional '+'); further words are ignored, as there.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "bridge/bridge.h"

static size_t skip_blanks(const char *s, size_t i, size_t len)
{
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    return i;
}

static size_t word_end(const char *s, size_t i, size_t len)
{
    while (i < len && !isspace((unsigned char)s[i]))
        i++;
    return i;
}

int bridge_parse_connect(const char *line, size_t len, uint32_t *port)
{
    if (len == 0 || len > BRIDGE_CMD_MAX || line[len - 1] != '\n')
        return -1;
    size_t a = skip_blanks(line, 0, len);
    size_t b = word_end(line, a, len);
    if (b - a != 7 || strncasecmp(line + a, "connect", 7) != 0)
        return -1;
    size_t c = skip_blanks(line, b, len);
    size_t d = word_end(line, c, len);
    if (c < d && line[c] == '+')
        c++;
    if (c == d)
        return -1;
    uint64_t v = 0;
    for (size_t i = c; i < d; i++) {
        if (line[i] < '0' || line[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(line[i] - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    *port = (uint32_t)v;
    return 0;
}
