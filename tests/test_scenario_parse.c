/*
 * test_scenario_parse.c - the scenario language's parser (issue 6): every statement parses to
 * what it says, every bad input gives exactly "file:line:col: expected ..." and never crashes,
 * and every shipped scenario parses.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scenario/ast.h"
#include "scenario/diag.h"
#include "scenario/scenario.h"
#include "testutil.h"
#include "vmcisim/vmci_sockets.h"

#ifndef VMCISIM_SOURCE_DIR
#define VMCISIM_SOURCE_DIR "."
#endif

static struct scen_script *parse_ok(const char *text)
{
    char err[1024];
    struct scen_script *s = scen_parse("t.vmcis", text, strlen(text), err, sizeof err);
    ck_assert_msg(s != NULL, "parse failed: %s", err);
    return s;
}

static void parse_err(const char *text, const char *want)
{
    char err[1024];
    struct scen_script *s = scen_parse("t.vmcis", text, strlen(text), err, sizeof err);
    ck_assert_msg(s == NULL, "parsed, but should fail with: %s", want);
    ck_assert_str_eq(err, want);
}

START_TEST(world_statements)
{
    struct scen_script *s = parse_ok("scenario \"demo\"\n"
                                     "seeds 3..7\n"
                                     "limit 2s\n"
                                     "vm a cid 5 restricted\n"
                                     "vm b trusted\n"
                                     "vm c cid auto\n"
                                     "faults dgram-delay 1ms..2ms dgram-drop 10% "
                                     "dgram-duplicate 0.5 dgram-reorder 0.25 qp-alloc-fail 1 "
                                     "hv-latency 3us\n");
    ck_assert_str_eq(s->name, "demo");
    ck_assert_uint_eq(s->seed_lo, 3);
    ck_assert_uint_eq(s->seed_hi, 7);
    ck_assert_uint_eq(s->limit_ns, 2000000000ull);
    ck_assert_uint_eq(s->nvms, 4);
    ck_assert_str_eq(s->vms[0].name, "host");
    ck_assert_uint_eq(s->vms[1].cid, 5);
    ck_assert_uint_eq(s->vms[1].flags, VMCISIM_VM_RESTRICTED);
    ck_assert_uint_eq(s->vms[2].flags, VMCISIM_VM_TRUSTED);
    ck_assert_uint_eq(s->vms[3].cid, VMADDR_CID_ANY);
    ck_assert_uint_eq(s->faults.mask, FK_ALL);
    ck_assert_uint_eq(s->faults.v.dg_delay_min_ns, 1000000);
    ck_assert_uint_eq(s->faults.v.dg_delay_max_ns, 2000000);
    ck_assert(s->faults.v.dg_drop == 0.1);
    ck_assert(s->faults.v.dg_duplicate == 0.5);
    ck_assert(s->faults.v.dg_reorder == 0.25);
    ck_assert(s->faults.v.qp_alloc_fail == 1.0);
    ck_assert_uint_eq(s->faults.v.hv_latency_ns, 3000);
    uint64_t lo, hi;
    scen_default_seeds(s, &lo, &hi);
    ck_assert_uint_eq(lo, 3);
    ck_assert_uint_eq(hi, 7);
    scen_script_free(s);
}
END_TEST

START_TEST(every_socket_statement)
{
    struct scen_script *s = parse_ok(
        "vm g cid 9\n"
        "process p on g root daemon instances 2 start 5ms after x\n"
        "  s = socket stream -> ok\n"
        "  bind s any:5000\n"
        "  listen s 4 -> EINVAL\n"
        "  c = accept s\n"
        "  connect s host:6000 -> ECONNRESET\n"
        "  send c \"hi\\n\" nosignal -> 3\n"
        "  send c 4KiB bytes -> 4096\n"
        "  recv c 5 waitall peek -> \"hello\"\n"
        "  recv c 10 -> eof\n"
        "  recv c 10 dontwait -> 1..10\n"
        "  d = socket dgram\n"
        "  sendto d x\"00 ff\" g:7 -> 2\n"
        "  recvfrom d 100 as peer -> \"x\" from host:7\n"
        "  sendto d \"y\" peer\n"
        "  shutdown c wr\n"
        "  poll c in|out 10ms -> in|rdhup\n"
        "  poll c in forever -> none\n"
        "  setsockopt c buffer-size 64KiB\n"
        "  setsockopt c connect-timeout 2s\n"
        "  setsockopt c nonblock on\n"
        "  getsockopt c error -> ETIMEDOUT\n"
        "  getsockname c -> self:any\n"
        "  getpeername c -> ENOTCONN\n"
        "  close c -> any\n"
        "  sleep 1.5ms\n"
        "  mark x\n"
        "  wait x\n"
        "  note \"text\"\n"
        "  repeat 3\n"
        "    suspend g -> EINVAL\n"
        "    faults dgram-drop 0\n"
        "  end\n"
        "end\n");
    ck_assert_uint_eq(s->nprocs, 1);
    const struct scen_proc *p = &s->procs[0];
    ck_assert(p->root && p->daemon);
    ck_assert_int_eq(p->instances, 2);
    ck_assert_uint_eq(p->start_ns, 5000000);
    ck_assert_int_eq(p->vm, 1);
    ck_assert_uint_eq(p->nbody, 29);
    const struct scen_stmt *b = p->body;
    ck_assert_int_eq(b[0].op, OP_SOCKET);
    ck_assert_int_eq(b[0].sock_type, SOCK_STREAM);
    ck_assert_int_eq(b[0].ex.kind, EX_OK);
    ck_assert_int_eq(b[1].op, OP_BIND);
    ck_assert_uint_eq(b[1].addr.cid, VMADDR_CID_ANY);
    ck_assert_uint_eq(b[1].addr.port, 5000);
    ck_assert_int_eq(b[2].ex.kind, EX_ERRNO);
    ck_assert_int_eq(b[2].ex.err, EINVAL);
    ck_assert_int_eq(b[3].op, OP_ACCEPT);
    ck_assert_int_eq(b[3].fd, 0);
    ck_assert_int_eq(b[3].dst, 1);
    ck_assert_int_eq(b[4].ex.err, ECONNRESET);
    ck_assert_uint_eq(b[5].len, 3);
    ck_assert_int_eq(b[5].flags, MSG_NOSIGNAL);
    ck_assert_int_eq(b[5].ex.lo, 3);
    ck_assert(b[6].fill);
    ck_assert_uint_eq(b[6].len, 4096);
    ck_assert_int_eq(b[7].flags, MSG_WAITALL | MSG_PEEK);
    ck_assert_int_eq(b[7].ex.kind, EX_DATA);
    ck_assert_mem_eq(b[7].ex.data, "hello", 5);
    ck_assert_int_eq(b[8].ex.kind, EX_EOF);
    ck_assert_int_eq(b[9].ex.kind, EX_RANGE);
    ck_assert_int_eq(b[9].ex.hi, 10);
    ck_assert_int_eq(b[11].op, OP_SENDTO);
    ck_assert_mem_eq(b[11].data, "\x00\xff", 2);
    ck_assert_int_eq(b[11].addr.cidref, CIDREF_VM);
    ck_assert_int_eq(b[12].from_var, 3);
    ck_assert(b[12].ex.has_from);
    ck_assert_int_eq(b[13].addr.var, 3);
    ck_assert_int_eq(b[14].how, SHUT_WR);
    ck_assert_int_eq(b[15].events, POLLIN | POLLOUT);
    ck_assert_int_eq(b[15].ex.revents, POLLIN | POLLRDHUP);
    ck_assert_int_eq(b[16].num, -1);
    ck_assert_int_eq(b[16].ex.revents, 0);
    ck_assert_int_eq(b[17].opt, OPT_BUFFER_SIZE);
    ck_assert_int_eq(b[17].num, 65536);
    ck_assert_int_eq(b[18].num, 2000000000);
    ck_assert_int_eq(b[19].num, 1);
    ck_assert_int_eq(b[20].ex.err, ETIMEDOUT);
    ck_assert_int_eq(b[21].ex.kind, EX_ADDR);
    ck_assert_int_eq(b[21].ex.addr.cidref, CIDREF_SELF);
    ck_assert_int_eq(b[23].ex.kind, EX_ANY);
    ck_assert_int_eq(b[24].num, 1500000);
    ck_assert_int_eq(b[28].op, OP_REPEAT);
    ck_assert_int_eq(b[28].num, 3);
    ck_assert_uint_eq(b[28].nbody, 2);
    ck_assert_int_eq(b[28].body[0].op, OP_ACTION);
    ck_assert_int_eq(b[28].body[1].op, OP_FAULTS);
    ck_assert_uint_eq(b[28].body[1].faults.mask, FK_DROP);
    scen_script_free(s);
}
END_TEST

START_TEST(programs_timeline_checks)
{
    struct scen_script *s = parse_ok(
        "vm g\n"
        "program srv echo-server on host port 5000 backlog 2\n"
        "program snk sink on host port 6000 conns 3 buffer 64KiB\n"
        "program src source on g after snk.ready to host:6000 bytes 1MiB chunk 4KiB "
        "connections 3 hold 1ms\n"
        "program rs rr-server on host port 7000 reply 128\n"
        "program rc rr-client on g instances 4 to host:7000 requests 10 size 64\n"
        "program pong dgram-pong on host port 8000 count 100 reply 16\n"
        "program ping dgram-ping on g to host:8000 count 100 size 16 interval 1ms timeout 5ms\n"
        "at 10ms suspend g\n"
        "at 20ms faults none\n"
        "on src.done after 1ms power-off g\n"
        "on snk.ready mark go\n"
        "check snk.streams_ok == 3\n"
        "check *.lost in 0..10\n"
        "check g.state != running\n"
        "check g.ft == off\n"
        "check time <= 1s\n");
    ck_assert_uint_eq(s->nprocs, 7);
    ck_assert(s->procs[0].daemon); /* no conns: serves until the rest is done */
    ck_assert(!s->procs[1].daemon);
    ck_assert_int_eq(s->procs[1].bp.conns, 3);
    ck_assert_int_eq(s->procs[1].bp.buffer, 65536);
    ck_assert_int_eq(s->procs[2].builtin, B_SOURCE);
    ck_assert_int_eq(s->procs[2].bp.bytes, 1 << 20);
    ck_assert_int_eq(s->procs[2].bp.connections, 3);
    ck_assert_int_eq(s->procs[2].after_event, s->procs[1].ready_event);
    ck_assert_int_eq(s->procs[4].instances, 4);
    ck_assert_int_eq(s->procs[6].bp.count, 100);
    ck_assert_uint_eq(s->procs[6].bp.timeout_ns, 5000000);
    ck_assert_uint_eq(s->ntimed, 4);
    ck_assert_int_eq(s->timed[0].on_event, -1);
    ck_assert_int_eq(s->timed[0].stmt.action, ACT_SUSPEND);
    ck_assert_uint_eq(s->timed[1].stmt.faults.mask, FK_ALL);
    ck_assert_int_eq(s->timed[2].on_event, s->procs[2].done_event);
    ck_assert_uint_eq(s->timed[2].at_ns, 1000000);
    ck_assert_int_eq(s->timed[3].stmt.op, OP_MARK);
    ck_assert_uint_eq(s->nchecks, 5);
    ck_assert_int_eq(s->checks[0].lhs, LHS_COUNTER);
    ck_assert_int_eq(s->checks[0].counter, C_STREAMS_OK);
    ck_assert_int_eq(s->checks[1].proc, -1);
    ck_assert_int_eq(s->checks[1].cmp, -1);
    ck_assert_int_eq(s->checks[1].hi, 10);
    ck_assert_int_eq(s->checks[2].lhs, LHS_VM_STATE);
    ck_assert_int_eq(s->checks[3].lhs, LHS_VM_FT);
    ck_assert_int_eq(s->checks[4].value, 1000000000);
    scen_script_free(s);
}
END_TEST

/* A near-miss keyword or name gets "did you mean", and a long message is never cut. */
START_TEST(errors_suggest_near_misses_and_are_whole)
{
    parse_err("vm g1\nprocess p on g1\n  s = socket stream\n  lisen s 5\nend\n",
              "t.vmcis:4:3: expected a statement (socket, bind, listen, accept, connect, send, "
              "recv, sendto, recvfrom, shutdown, close, poll, setsockopt, getsockopt, "
              "getsockname, getpeername, sleep, mark, wait, repeat, note, faults, suspend, "
              "resume, migrate, power-off, ft-on, ft-off), got 'lisen'; did you mean 'listen'?");
    parse_err("vm guest1\nprocess p on gust1\nend\n",
              "t.vmcis:2:14: expected a VM declared with 'vm' on an earlier line, or host, got "
              "'gust1'; did you mean 'guest1'?");
    parse_err("at 5ms suspnd host\n", "t.vmcis:1:8: expected an action (suspend, resume, "
                                       "migrate, power-off, ft-on, ft-off, faults or mark), got "
                                       "'suspnd'; did you mean 'suspend'?");
    /* far from every word: no suggestion */
    parse_err("at 5ms explode host\n", "t.vmcis:1:8: expected an action (suspend, resume, "
                                        "migrate, power-off, ft-on, ft-off, faults or mark), got "
                                        "'explode'");
}
END_TEST

START_TEST(edit_distance_counts_swaps_as_one)
{
    ck_assert_uint_eq(scen_edit_distance("listen", 6, "lisetn", 6, 3), 1);
    ck_assert_uint_eq(scen_edit_distance("lisen", 5, "listen", 6, 3), 1);
    ck_assert_uint_eq(scen_edit_distance("abc", 3, "xyz", 3, 3), 3);
    ck_assert_uint_eq(scen_edit_distance("abc", 3, "xyz", 3, 2), 3);     /* limit + 1 */
    ck_assert_uint_eq(scen_edit_distance("a", 1, "abcdef", 6, 2), 3);
}
END_TEST

/* The excerpt under an error: the line, then a caret under the column; tabs count as one
 * column; a long line is shown as a window around the column. */
START_TEST(source_excerpt_has_a_caret_under_the_column)
{
    const char *text = "vm g\n\tsleep 5\nlast";
    char *e = scen_source_excerpt(text, strlen(text), 2, 8);
    ck_assert_str_eq(e, "     sleep 5\n           ^");
    free(e);
    e = scen_source_excerpt(text, strlen(text), 3, 1);
    ck_assert_str_eq(e, "    last\n    ^");
    free(e);
    char longline[400];
    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 1] = 0;
    longline[300] = 'Y';
    e = scen_source_excerpt(longline, strlen(longline), 1, 301);
    ck_assert_ptr_nonnull(strstr(e, "    ...xxx"));
    char *caret_line = strchr(e, '\n') + 1;
    char *y = strchr(e, 'Y');
    ck_assert_int_eq((int)(strchr(caret_line, '^') - caret_line), (int)(y - e));
    ck_assert_ptr_nonnull(strstr(e, "x...\n"));
    free(e);
}
END_TEST

/* scen_load_diag keeps the position and the excerpt for the command line to print. */
START_TEST(load_diag_gives_position_and_excerpt)
{
    char path[] = "/tmp/vmcisim_diag_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "vm g\nprocess p on g\n  sleep 5\nend\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    struct scen_diag d;
    ck_assert_ptr_null(scen_load_diag(path, &d));
    ck_assert_int_eq(d.line, 3);
    ck_assert_int_eq(d.col, 9);
    ck_assert_ptr_nonnull(strstr(d.message, ":3:9: expected a time to sleep with a unit"));
    ck_assert_str_eq(d.excerpt, "      sleep 5\n            ^");
    scen_diag_free(&d);
    unlink(path);
    ck_assert_ptr_null(scen_load_diag("/nonexistent/x.vmcis", &d));
    ck_assert_str_eq(d.message, "/nonexistent/x.vmcis: cannot read: No such file or directory");
    ck_assert_ptr_null(d.excerpt);
    scen_diag_free(&d);
}
END_TEST

START_TEST(errors_are_file_line_col_expected)
{
    parse_err("vm g1 cid 2\n", "t.vmcis:1:11: expected a VM CID from 3 to 4294967294 (0, 1 and 2 "
                               "are the hypervisor, local and the host), or auto, got '2'");
    parse_err("vm g1\nvm g1\n",
              "t.vmcis:2:4: expected a name not used yet by a VM, process or program, got 'g1'");
    parse_err("process p on nowhere\nend\n", "t.vmcis:1:14: expected a VM declared with 'vm' on "
                                             "an earlier line, or host, got 'nowhere'");
    parse_err("process p on host\n  s = socket stream\n  connect s host:\nend\n",
              "t.vmcis:3:18: expected a port number (or any), got end of line");
    parse_err("process p on host\n  recv s 5\nend\n",
              "t.vmcis:2:8: expected a descriptor assigned earlier in this process (by socket or "
              "accept), got 's'");
    parse_err("process p on host\n  sleep 5\nend\n",
              "t.vmcis:2:9: expected a time to sleep with a unit (ns, us, ms or s), got '5'");
    parse_err("process p on host\n  s = socket stream\n  recv s 5 -> EFOO\nend\n",
              "t.vmcis:3:15: expected an errno name such as ECONNRESET, EPIPE or EINVAL, got "
              "'EFOO'");
    parse_err("process p on host\n  s = socket stream\n",
              "t.vmcis:3:1: expected 'end' to close the process block of line 1, got end of file");
    parse_err("at 5ms explode host\n", "t.vmcis:1:8: expected an action (suspend, resume, "
                                       "migrate, power-off, ft-on, ft-off, faults or mark), got "
                                       "'explode'");
    parse_err("vm g\ncheck g.state == sleeping\n",
              "t.vmcis:2:18: expected running, suspended or powered-off, got 'sleeping'");
    parse_err("process p on host\n  wait never\nend\n",
              "t.vmcis:2:8: expected an event that something marks ('mark never', or NAME.ready "
              "/ NAME.done of a process), got 'never'");
    parse_err("faults dgram-drop 1.5\n",
              "t.vmcis:1:19: expected a probability between 0 and 1 (or 0% and 100%), got '1.5'");
    parse_err("vm g $\n", "t.vmcis:1:6: expected a name, number, string or operator, got '$'");
    parse_err("program e echo-server on host\n",
              "t.vmcis:1:30: expected 'port N' (a server needs a port to listen on), got end of "
              "line");
    parse_err("process p on host\n  s = socket stream\n  send s \"open\nend\n",
              "t.vmcis:3:10: expected '\"' to close the string on the same line");
    parse_err("process p on host\n  s = socket stream\n  send s x\"abc\"\nend\n",
              "t.vmcis:3:10: expected an even number of hex digits in x\"...\"");
    parse_err("process p on host\n  repeat 2\n    sleep 1ms\n", "t.vmcis:4:1: expected 'end' to "
                                                               "close the repeat block of line 2, "
                                                               "got end of file");
    parse_err("limit 10\n",
              "t.vmcis:1:7: expected a simulated-time limit with a unit (ns, us, ms or s), got "
              "'10'");
    parse_err("check x.bytes_sent == 1\n", "t.vmcis:1:7: expected a process, program or VM "
                                           "declared before this check, or *, got 'x'");
    parse_err("program p sink on host port 1\ncheck p.bogus > 1\n",
              "t.vmcis:2:9: expected a counter (connected, refused, connect_errors, accepted, "
              "bytes_sent, bytes_received, dgrams_sent, dgrams_received, eof, epipe, errors, "
              "streams_ok, checksum_bad, truncated, requests, responses, replies, lost, "
              "duplicates, late, killed), got 'bogus'");
    parse_err("vm host\n", "t.vmcis:1:4: expected a name that is not a reserved word (host, any, "
                           "self, local, hypervisor, time), got 'host'");
    parse_err("seeds 99999999999999999999\n", "t.vmcis:1:7: expected a number below 2^64");
    parse_err("\x01", "t.vmcis:1:1: expected a name, number, string or operator, got byte 0x01");
}
END_TEST

START_TEST(shipped_scenarios_parse)
{
    const char *dirs[] = {VMCISIM_SOURCE_DIR "/scenarios", VMCISIM_SOURCE_DIR "/tests"};
    int n = 0;
    for (size_t d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        ck_assert_msg(dir != NULL, "cannot open %s", dirs[d]);
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t l = strlen(e->d_name);
            if (l < 7 || strcmp(e->d_name + l - 6, ".vmcis") != 0)
                continue;
            char path[1024], err[1024];
            snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
            struct scen_script *s = scen_load(path, err, sizeof err);
            ck_assert_msg(s != NULL, "%s", err);
            scen_script_free(s);
            n++;
        }
        closedir(dir);
    }
    ck_assert_int_ge(n, 12);
}
END_TEST

START_TEST(unreadable_file)
{
    char err[256];
    ck_assert_ptr_null(scen_load("/nonexistent/x.vmcis", err, sizeof err));
    ck_assert_str_eq(err, "/nonexistent/x.vmcis: cannot read: No such file or directory");
}
END_TEST

/* Bad input never crashes: every prefix and thousands of byte mutations of a rich scenario
 * either parse or give a file:line:col message (the libFuzzer target goes further). */
START_TEST(mutations_never_crash)
{
    const char *base = "vm g cid 7\nprogram s sink on host port 5 conns 2\n"
                       "process p on g after s.ready\n  c = socket stream\n  connect c host:5 -> "
                       "ok\n  send c x\"0102\" -> 2\n  repeat 2\n    recv c 1KiB -> eof\n"
                       "  end\nend\n"
                       "at 1ms suspend g\ncheck s.streams_ok in 0..2\n";
    size_t len = strlen(base);
    char *buf = malloc(len + 1);
    uint64_t x = 0x12345678;
    for (size_t cut = 0; cut <= len; cut++) {
        char err[1024];
        struct scen_script *s = scen_parse("m", base, cut, err, sizeof err);
        if (!s)
            ck_assert_msg(strncmp(err, "m:", 2) == 0 && strstr(err, "expected"), "%s", err);
        scen_script_free(s);
    }
    for (int i = 0; i < 20000; i++) {
        memcpy(buf, base, len + 1);
        for (int k = 0; k < 3; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % len] = (char)(x >> 32);
        }
        char err[1024];
        struct scen_script *s = scen_parse("m", buf, len, err, sizeof err);
        if (!s)
            ck_assert_msg(strncmp(err, "m:", 2) == 0 && strstr(err, "expected"), "%s", err);
        scen_script_free(s);
    }
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scenario_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, world_statements);
    tcase_add_test(tc, every_socket_statement);
    tcase_add_test(tc, programs_timeline_checks);
    tcase_add_test(tc, errors_are_file_line_col_expected);
    tcase_add_test(tc, shipped_scenarios_parse);
    tcase_add_test(tc, unreadable_file);
    tcase_add_test(tc, errors_suggest_near_misses_and_are_whole);
    tcase_add_test(tc, edit_distance_counts_swaps_as_one);
    tcase_add_test(tc, source_excerpt_has_a_caret_under_the_column);
    tcase_add_test(tc, load_diag_gives_position_and_excerpt);
    tcase_add_test(tc, mutations_never_crash);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
