/*
 * test_bridge.c - the parts of the hybrid-vsock bridge that need no outside program: the
 * CONNECT command line as Firecracker's muxer parses it (formats.md §2.1, §2.4), the `bridge`
 * statement of the scenario language (docs/bridge.md), and the refusal of a deterministic run.
 * tests/bridge_cli.sh drives the bridge itself with socat and Python.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/bridge.h"
#include "scenario/ast.h"
#include "scenario/scenario.h"

static int parse(const char *line, uint32_t *port)
{
    return bridge_parse_connect(line, strlen(line), port);
}

START_TEST(command_line)
{
    uint32_t p = 0;
    /* formats.md §2.1: "CONNECT G\n", decimal u32, keyword in any case */
    ck_assert_int_eq(parse("CONNECT 52\n", &p), 0);
    ck_assert_uint_eq(p, 52);
    ck_assert_int_eq(parse("connect 5000\n", &p), 0);
    ck_assert_uint_eq(p, 5000);
    ck_assert_int_eq(parse("CoNnEcT 4294967295\n", &p), 0);
    ck_assert_uint_eq(p, 4294967295u);
    ck_assert_int_eq(parse("CONNECT 0\n", &p), 0); /* the 10 bytes Firecracker reads first */
    ck_assert_uint_eq(p, 0);
    /* split on white space as muxer.rs does: blanks around, a CR before the LF */
    ck_assert_int_eq(parse("  CONNECT\t 77 \r\n", &p), 0);
    ck_assert_uint_eq(p, 77);
    ck_assert_int_eq(parse("CONNECT +9\n", &p), 0); /* Rust's u32 parse takes a '+' */
    ck_assert_uint_eq(p, 9);
    /* refused: the stream is closed with no text */
    ck_assert_int_eq(parse("CONNECT 4294967296\n", &p), -1);  /* not a u32 */
    ck_assert_int_eq(parse("CONNECT -1\n", &p), -1);
    ck_assert_int_eq(parse("CONNECT x\n", &p), -1);
    ck_assert_int_eq(parse("CONNECT 5x\n", &p), -1);
    ck_assert_int_eq(parse("CONNECT\n", &p), -1);
    ck_assert_int_eq(parse("CONNECTS 5\n", &p), -1);
    ck_assert_int_eq(parse("HELLO 5\n", &p), -1);
    ck_assert_int_eq(parse("CONNECT 5", &p), -1);              /* no newline */
    ck_assert_int_eq(parse("\n", &p), -1);
    /* the newline must come within 32 bytes: 31 bytes and '\n' is the longest line */
    char line[40];
    memset(line, ' ', sizeof line);
    memcpy(line, "CONNECT 1", 9);
    line[31] = '\n';
    ck_assert_int_eq(bridge_parse_connect(line, 32, &p), 0);
    ck_assert_uint_eq(p, 1);
    line[31] = ' ';
    line[32] = '\n';
    ck_assert_int_eq(bridge_parse_connect(line, 33, &p), -1);
}
END_TEST

static void parse_err(const char *text, const char *want)
{
    char err[1024];
    struct scen_script *s = scen_parse("t.vmcis", text, strlen(text), err, sizeof err);
    ck_assert_msg(s == NULL, "parsed, but should fail with: %s", want);
    ck_assert_str_eq(err, want);
}

START_TEST(statement)
{
    char err[1024];
    const char *ok = "vm g1 cid 3\nvm g2\nbridge g1 \"/tmp/v.sock\"\nbridge g2 \"rel.sock\"\n";
    struct scen_script *s = scen_parse("t.vmcis", ok, strlen(ok), err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_uint_eq(s->nbridges, 2);
    ck_assert_int_eq(s->bridges[0].vm, 1);
    ck_assert_str_eq(s->bridges[0].path, "/tmp/v.sock");
    ck_assert_int_eq(s->bridges[0].line, 3);
    ck_assert_int_eq(s->bridges[1].vm, 2);
    ck_assert_str_eq(s->bridges[1].path, "rel.sock");
    /* a bridge needs realtime: the reason names the first bridge line (exit 2 in the CLI) */
    char why[512];
    ck_assert_int_eq(scen_needs_realtime(s, why, sizeof why), 1);
    ck_assert_str_eq(why, "t.vmcis:3:1: expected a realtime run (vmcisim run --realtime, a "
                          "`realtime` line in the file, or vmcisim serve), got a deterministic "
                          "one: 'bridge' lets programs "
                          "outside the world in, and they run on the wall clock, which a "
                          "deterministic run never reads (docs/bridge.md)");
    /* ... and scen_run refuses it too, before anything runs */
    struct scen_run_opts o = {.seed = 1};
    struct scen_result *res = calloc(1, sizeof *res);
    ck_assert_int_eq(scen_run(s, &o, res), SCEN_FAIL);
    ck_assert_str_eq(res->message, "t.vmcis:3: expected a realtime run for 'bridge' (vmcisim run "
                                   "--realtime, or vmcisim serve), got a deterministic run");
    free(res);
    scen_script_free(s);
    const char *none = "vm g1\n";
    s = scen_parse("t.vmcis", none, strlen(none), err, sizeof err);
    ck_assert_int_eq(scen_needs_realtime(s, why, sizeof why), 0);
    scen_script_free(s);
    /* a `realtime` line makes every run of the file realtime: the bridge is then allowed */
    const char *rt = "realtime\nvm g1 cid 3\nbridge g1 \"/tmp/v.sock\"\n";
    s = scen_parse("t.vmcis", rt, strlen(rt), err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_eq(scen_needs_realtime(s, why, sizeof why), 0);
    scen_script_free(s);

    /* the shipped example parses and bridges g1 */
    s = scen_load(VMCISIM_SOURCE_DIR "/examples/bridge_echo.vmcis", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_uint_eq(s->nbridges, 1);
    ck_assert_str_eq(s->bridges[0].path, "/tmp/vmcisim-g1.sock");
    scen_script_free(s);

    parse_err("vm g1\nbridge host \"/tmp/x\"\n",
              "t.vmcis:2:8: expected a guest VM (the bridge connects outside programs to a "
              "guest), got 'host'");
    parse_err("vm g1\nbridge g9 \"/tmp/x\"\n",
              "t.vmcis:2:8: expected a VM declared with 'vm' on an earlier line, or host, got "
              "'g9'");
    parse_err("vm g1\nbridge g1 sock\n",
              "t.vmcis:2:11: expected a \"path\" for the bridge's Unix socket, got 'sock'");
    parse_err("vm g1\nbridge g1 \"\"\n",
              "t.vmcis:2:11: expected a socket path of 1 to 95 bytes with no NUL byte, got a string");
    parse_err("vm g1\nbridge g1 \"a\"\nbridge g1 \"b\"\n",
              "t.vmcis:3:8: expected a VM with no bridge yet (one bridge per VM), got 'g1'");
    parse_err("vm g1\nvm g2\nbridge g1 \"a\"\nbridge g2 \"a\"\n",
              "t.vmcis:4:11: expected a path no other bridge uses, got a string");
    parse_err("vm g1\nbridge g1 \"a\" extra\n",
              "t.vmcis:2:15: expected end of line, got 'extra'");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bridge");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, command_line);
    tcase_add_test(tc, statement);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
