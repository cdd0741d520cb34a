/*
 * test_trace_present.c - presentation in the readable trace (docs/scenarios.md §9, "The
 * readable trace"): names, state names and payload bytes are shown to a person but never hashed, so a
 * record's hash is the one it had before it carried them, and taps (the capture's comments,
 * the HTML report) see the hashed text.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario/scenario.h"
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
    cfg.trace_payload = 5000; /* at most 256 */
    sim = vmcisim_create(&cfg);
    ck_assert_uint_eq(sim_trace_payload_max(sim), 256);
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

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 20;
    char *b = malloc(cap + 1);
    ck_assert_ptr_nonnull(b);
    *n = fread(b, 1, cap, f);
    ck_assert_uint_lt(*n, cap);
    b[*n] = 0;
    fclose(f);
    return b;
}

/* The exchange of tests/trace_readable.vmcis without its shutdown: the server answers before the
 * client closes, so no end of file can overtake the data in a realtime run. */
static const char rt_script[] = "vm guest cid 7\n"
                                "process server on host root\n"
                                "  l = socket stream\n"
                                "  bind l any:5000\n"
                                "  listen l 1\n"
                                "  mark listening\n"
                                "  c = accept l\n"
                                "  recv c 12 waitall -> \"hello world!\"\n"
                                "  send c \"ok\" -> 2\n"
                                "  recv c 10 -> eof\n"
                                "  close c\n"
                                "  close l\n"
                                "end\n"
                                "process client on guest after listening\n"
                                "  s = socket stream\n"
                                "  connect s host:5000\n"
                                "  send s \"hello world!\" -> 12\n"
                                "  recv s 2 waitall -> \"ok\"\n"
                                "  close s\n"
                                "end\n";

START_TEST(realtime_names_payloads_and_delivery_times)
{
    /* The same presentation when threads run free (under ThreadSanitizer in CI): the pending
     * name is the calling thread's own, the capture's delivery comments are filled in under its
     * lock while other threads send. */
    char err[1024];
    struct scen_script *sc = scen_parse("rt.vmcis", rt_script, sizeof rt_script - 1, err, sizeof err);
    ck_assert_msg(sc != NULL, "%s", err);
    char tp[64], pp[80];
    snprintf(tp, sizeof tp, "%s", tmp_path("rt"));
    snprintf(pp, sizeof pp, "/tmp/vmcisim-present-%d.pcapng", (int)getpid());
    struct scen_run_opts o = {.seed = 1, .realtime = 1, .trace_path = tp, .pcap_path = pp,
                              .trace_payload = 16};
    struct scen_result r;
    scen_run(sc, &o, &r);
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);
    size_t n;
    char *t = slurp(tp, &n);
    ck_assert_ptr_nonnull(strstr(t, " guest/7 client call op=send fd=s(67108864) rc=12 "
                                    "data[12]=68656c6c6f20776f726c6421 \"hello world!\"\n"));
    ck_assert_ptr_nonnull(strstr(t, " host/2 server call op=accept fd=l(67108864) rc=c(67108865)\n"));
    ck_assert_ptr_nonnull(strstr(t, " host/2 server call op=send fd=c(67108865) rc=2 data[2]=6f6b \"ok\"\n"));
    free(t);
    char *c = slurp(pp, &n);
    ck_assert_ptr_nonnull(memmem(c, n, "delivered at ", 13));
    ck_assert_ptr_null(memmem(c, n, "delivery pending", 16));
    free(c);
    scen_script_free(sc);
    unlink(tp);
    unlink(pp);
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
    TCase *rt = tcase_create("realtime");
    tcase_add_test(rt, realtime_names_payloads_and_delivery_times);
    suite_add_tcase(s, rt);
    return tu_run_suite(s);
}
