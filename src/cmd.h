/* One function per subcommand, each in src/cmd_<verb>.c. Each returns the
 * process exit code; errors are printed once, here at the CLI layer. */
#ifndef NSLAB_CMD_H
#define NSLAB_CMD_H

int cmd_validate (int argc, char **argv);
int cmd_plan (int argc, char **argv);
int cmd_up (int argc, char **argv);
int cmd_down (int argc, char **argv);
int cmd_ls (int argc, char **argv);
int cmd_status (int argc, char **argv);
int cmd_exec (int argc, char **argv);
/* Internal entry points reached by re-executing /proc/self/exe with a special
 * argv[0] (pause process, echo server). */
int cmd_internal (int argc, char **argv);

#endif
