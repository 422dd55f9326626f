/* The pause process's own main (see pause_main.c). */
#ifndef NSLAB_APPS_PAUSE_MAIN_H
#define NSLAB_APPS_PAUSE_MAIN_H

/* What bin/nslab-pause runs (pause/main.c), or nslab re-executed as
 * argv[0] "nslab-pause" (cmd_internal): pause_setup when started by
 * pause_spawn, the built-in app forked, then reaps children until SIGTERM;
 * never returns. */
int pause_main (int argc, char **argv);

#endif
