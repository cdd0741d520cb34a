/*
 * test_trace_present.c - presentation in the readable trace (docs/scenarios.md §9, "The
 * readable trace"): names, state names and payload bytes are shown to a person but never hashed, so a
 * record's hash is the one it had before it carried them, and taps (the capture's comments,
 * the HTML report) see the hashed text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim.h"
#include "testutil.h"

static vmcisim *world_with_trace(const char *path)
{
    struct vmcisim_config cfg = {.seed = 1, .trace_path = path};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    return sim;
}

/* The file's records of one event, joined by '\n' (the world writes its own records too). */
static void read_event(const char *path, const char *event, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[8192], key[64];
    snprintf(key, sizeof key, " main %s ", event);
    size_t o = 0;
    out[0] = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, key))
            continue;
        size_t l = strlen(line);
        ck_assert_uint_lt(o + l, cap);
        memcpy(out + o, line, l + 1);
        o += l;
    }
    fclose(f);
}

static char tmpl[64];
static const char *tmp_path(const char *tag)
{
    snprintf(tmpl, sizeof tmpl, "/tmp/vmcisim-present-%d-%s.txt", (int)getpid(), tag);
    return tmpl;
}

START_TEST(rich_record_hashes_as_its_plain_text)
{
    /* The same event twice: once as plain text, once with a name shown and a number replaced
     * by its name. Equal hashes; the second file shows the names. */
    char pa[64], pb[64];
    snprintf(pa, sizeof pa, "%s", tmp_path("a"));
    snprintf(pb, sizeof pb, "%s", tmp_path("b"));
    vmcisim *a = world_with_trace(pa);
    vmcisim *b = world_with_trace(pb);
    sim_trace(a, "sock-release", "sock=4 fd=67108864 state=7");
    char st[SIM_TR_NUM_MAX];
    sim_trace_rich(b, "sock-release",
                   "sock=" SIM_TR_SHOW "client.s(" SIM_TR_END "4" SIM_TR_SHOW ")" SIM_TR_END
                   " fd=" SIM_TR_SHOW "s(" SIM_TR_END "67108864" SIM_TR_SHOW ")" SIM_TR_END
                   " state=%s",
                   sim_tr_num(st, 7, "CLOSE"));
    ck_assert_uint_eq(vmcisim_trace_hash(a), vmcisim_trace_hash(b));
    ck_assert_uint_eq(vmcisim_trace_count(a), vmcisim_trace_count(b));
    vmcisim_destroy(a);
    vmcisim_destroy(b);
    char ta[4096], tb[4096];
    read_event(pa, "sock-release", ta, sizeof ta);
    read_event(pb, "sock-release", tb, sizeof tb);
    ck_assert_str_eq(ta, "0.000000000 -/- main sock-release sock=4 fd=67108864 state=7\n");
    ck_assert_str_eq(tb, "0.000000000 -/- main sock-release sock=client.s(4) fd=s(67108864) "
                         "state=CLOSE\n");
    unlink(pa);
    unlink(pb);
}
END_TEST

START_TEST(number_without_a_name_is_the_number)
{
    char st[SIM_TR_NUM_MAX];
    ck_assert_str_eq(sim_tr_num(st, 12, NULL), "12");
    ck_assert_str_eq(sim_tr_num(st, 7, "CLOSE"), SIM_TR_HIDE "7" SIM_TR_END SIM_TR_SHOW "CLOSE" SIM_TR_END);
}
END_TEST

struct tap_seen {
    char line[2048];
    int n;
};

static void tap(void *ctx, uint64_t now_ns, const char *event, const char *line, size_t len)
{
    (void)now_ns;
    struct tap_seen *t = ctx;
    if (strcmp(event, "ev") != 0)
        return;
    ck_assert_uint_lt(len, sizeof t->line);
    memcpy(t->line, line, len);
    t->line[len] = 0;
    t->n++;
}

START_TEST(taps_see_the_hashed_text)
{
    char p[64];
    snprintf(p, sizeof p, "%s", tmp_path("tap"));
    vmcisim *sim = world_with_trace(p);
    struct tap_seen seen = {{0}, 0};
    sim_set_trace_tap(sim, tap, &seen);
    sim_trace_rich(sim, "ev", "x=" SIM_TR_HIDE "1" SIM_TR_END SIM_TR_SHOW "ONE" SIM_TR_END
                              " y=2" SIM_TR_SHOW " shown-only" SIM_TR_END);
    ck_assert_int_eq(seen.n, 1);
    ck_assert_str_eq(seen.line, "0.000000000 -/- main ev x=1 y=2");
    vmcisim_destroy(sim);
    char t[4096];
    read_event(p, "ev", t, sizeof t);
    ck_assert_str_eq(t, "0.000000000 -/- main ev x=ONE y=2 shown-only\n");
    unlink(p);
}
END_TEST

START_TEST(long_records_are_cut_where_plain_ones_were)
{
    /* A record longer than a line is cut at the same hashed byte with or without presentation
     * (the presentation does not count against the hashed text's room). */
    char big[1500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char pa[64], pb[64];
    snprintf(pa, sizeof pa, "%s", tmp_path("la"));
    snprintf(pb, sizeof pb, "%s", tmp_path("lb"));
    vmcisim *a = world_with_trace(pa);
    vmcisim *b = world_with_trace(pb);
    sim_trace(a, "ev", "a=1 %s", big);
    sim_trace_rich(b, "ev", "a=" SIM_TR_SHOW "name(" SIM_TR_END "1" SIM_TR_SHOW ")" SIM_TR_END " %s",
                   big);
    ck_assert_uint_eq(vmcisim_trace_hash(a), vmcisim_trace_hash(b));
    vmcisim_destroy(a);
    vmcisim_destroy(b);
    unlink(pa);
    unlink(pb);
}
END_TEST

START_TEST(payload_size_comes_from_config_or_environment)
{
    char p[64];
    snprintf(p, sizeof p, "%s", tmp_path("pl"));
    struct vmcisim_config cfg = {.seed = 1, .trace_path = p, .trace_payload = 4};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_uint_eq(sim_trace_payload_max(sim), 4);
    vmcisim_destroy(sim);
    cfg.trace_payload = 5000; /* at most 1024 */
    sim = vmcisim_create(&cfg);
    ck_assert_uint_eq(sim_trace_payload_max(sim), 1024);
    vmcisim_destroy(sim);
    setenv("VMCISIM_TRACE_PAYLOAD", "16", 1);
    cfg.trace_payload = 0;
    sim = vmcisim_create(&cfg);
    ck_assert_uint_eq(sim_trace_payload_max(sim), 16);
    vmcisim_destroy(sim);
    cfg.trace_payload = -1; /* none, whatever the environment says */
    sim = vmcisim_create(&cfg);
    ck_assert_uint_eq(sim_trace_payload_max(sim), 0);
    vmcisim_destroy(sim);
    cfg.trace_payload = 8;
    cfg.trace_path = NULL; /* no readable trace: nothing to show it in */
    unsetenv("VMCISIM_TRACE");
    sim = vmcisim_create(&cfg);
    ck_assert_uint_eq(sim_trace_payload_max(sim), 0);
    vmcisim_destroy(sim);
    unsetenv("VMCISIM_TRACE_PAYLOAD");
    unlink(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_present");
    TCase *tc = tcase_create("present");
    tcase_add_test(tc, rich_record_hashes_as_its_plain_text);
    tcase_add_test(tc, number_without_a_name_is_the_number);
    tcase_add_test(tc, taps_see_the_hashed_text);
    tcase_add_test(tc, long_records_are_cut_where_plain_ones_were);
    tcase_add_test(tc, payload_size_comes_from_config_or_environment);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
