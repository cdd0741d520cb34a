/* cli_bench.h - `vmcisim bench`, the benchmark runner the command-line tool dispatches to.
 * Returns the process exit status. */
#ifndef VMCISIM_CLI_BENCH_H
#define VMCISIM_CLI_BENCH_H

int cli_bench(int argc, char **argv);

#endif
