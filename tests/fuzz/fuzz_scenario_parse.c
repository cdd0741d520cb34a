/*
 * fuzz_scenario_parse.c - libFuzzer target for the scenario parser (issue 6): any bytes either
 * parse or give one "file:line:col: expected ..." message; never a crash, a leak, undefined
 * behaviour or a message in another form. Built and run by tests/fuzz/run_fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    struct scen_script *s = scen_parse("f", (const char *)data, size, err, sizeof err);
    if (s) {
        uint64_t lo, hi;
        scen_default_seeds(s, &lo, &hi);
        if (lo > hi)
            abort();
        scen_script_free(s);
    } else if (strncmp(err, "f:", 2) != 0 || !strstr(err, "expected")) {
        abort(); /* every error must say where and what was expected */
    }
    return 0;
}
