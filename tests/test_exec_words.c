/*
 * test_exec_words.c - the command line of an `exec` (src/exec/words.c): split into words as a
 * POSIX shell reads quotes and backslashes (XCU 2.2 "Quoting": single quotes keep every
 * character, double quotes keep all but \ before $ ` " \ and newline, an unquoted backslash
 * keeps the next character), with no expansion; argv[0] found in PATH as execvp(3) does.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"

static char **split_ok(const char *line, size_t want_n)
{
    char **v = NULL, why[128];
    ck_assert_int_eq(exec_split_words(line, &v, why, sizeof why), 0);
    size_t n = 0;
    while (v[n])
        n++;
    ck_assert_uint_eq(n, want_n);
    return v;
}

START_TEST(plain_words)
{
    char **v = split_ok("  socat  -u\tVSOCK-LISTEN:7000   CREATE:/tmp/x ", 4);
    ck_assert_str_eq(v[0], "socat");
    ck_assert_str_eq(v[1], "-u");
    ck_assert_str_eq(v[2], "VSOCK-LISTEN:7000");
    ck_assert_str_eq(v[3], "CREATE:/tmp/x");
    exec_free_words(v);
}
END_TEST

START_TEST(quotes_and_backslashes)
{
    /* XCU 2.2.2: inside '...' a backslash and a double quote are ordinary */
    char **v = split_ok("python3 -c 'print(\"a b\")' \"x \\\"y\\\" \\$z \\n\" a\\ b ''", 6);
    ck_assert_str_eq(v[0], "python3");
    ck_assert_str_eq(v[1], "-c");
    ck_assert_str_eq(v[2], "print(\"a b\")");
    /* XCU 2.2.3: \" and \$ lose the backslash, \n keeps it */
    ck_assert_str_eq(v[3], "x \"y\" $z \\n");
    ck_assert_str_eq(v[4], "a b");
    ck_assert_str_eq(v[5], ""); /* an empty quoted word is a word */
    exec_free_words(v);
}
END_TEST

START_TEST(no_expansion)
{
    char **v = split_ok("echo $HOME *.c ~ `id`", 5);
    ck_assert_str_eq(v[1], "$HOME");
    ck_assert_str_eq(v[2], "*.c");
    ck_assert_str_eq(v[3], "~");
    ck_assert_str_eq(v[4], "`id`");
    exec_free_words(v);
}
END_TEST

START_TEST(bad_lines)
{
    char **v = NULL, why[128];
    ck_assert_int_eq(exec_split_words("a 'b", &v, why, sizeof why), -1);
    ck_assert_str_eq(why, "a closing ' in the command line");
    ck_assert_int_eq(exec_split_words("a \"b", &v, why, sizeof why), -1);
    ck_assert_str_eq(why, "a closing \" in the command line");
    ck_assert_int_eq(exec_split_words("a b\\", &v, why, sizeof why), -1);
    ck_assert_str_eq(why, "a character after the final backslash");
    ck_assert_int_eq(exec_split_words("   ", &v, why, sizeof why), -1);
    ck_assert_str_eq(why, "a program to run (the command line is empty)");
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(path_lookup)
{
    char out[4096];
    /* execvp(3): a name with a slash is used as it is; otherwise each PATH entry in turn */
    ck_assert_int_eq(exec_resolve("/bin/sh", out, sizeof out), 0);
    ck_assert_str_eq(out, "/bin/sh");
    setenv("PATH", "/nonexistent:/bin", 1);
    ck_assert_int_eq(exec_resolve("sh", out, sizeof out), 0);
    ck_assert_str_eq(out, "/bin/sh");
    ck_assert_int_eq(exec_resolve("no-such-program-vmcisim", out, sizeof out), -1);
    ck_assert_int_eq(exec_resolve("/nonexistent/prog", out, sizeof out), -1);
    /* a directory is not a program */
    ck_assert_int_eq(exec_resolve("/bin", out, sizeof out), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exec_words");
    TCase *tc = tcase_create("words");
    tcase_add_test(tc, plain_words);
    tcase_add_test(tc, quotes_and_backslashes);
    tcase_add_test(tc, no_expansion);
    tcase_add_test(tc, bad_lines);
    tcase_add_test(tc, path_lookup);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
