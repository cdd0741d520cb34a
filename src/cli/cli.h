/* cli.h - subcommands of the `vmcisim` tool. Each returns the process exit status. */
#ifndef VMCISIM_CLI_H
#define VMCISIM_CLI_H

#define VMCISIM_VERSION_STRING "0.1.0"

/* `vmcisim run`; prog is how the tool was invoked, for the replay commands it prints. */
int cli_run(int argc, char **argv, const char *prog);
/* `vmcisim report`: merge `vmcisim run --json` output of many shards into one summary. */
int cli_report(int argc, char **argv);
/* `vmcisim shrink` (shrink.c) */
int cli_shrink(int argc, char **argv, const char *prog);
/* `vmcisim check-exec PROGRAM` (check_exec.c): can `exec` run it? */
int cli_check_exec(int argc, char **argv);
/* `vmcisim serve FILE` and `vmcisim ctl PATH REQUEST` (serve.c, docs/bridge.md) */
int cli_serve(int argc, char **argv);
int cli_ctl(int argc, char **argv);

#endif
