/* The pause process's own main (see pause_main.c). */
#ifndef NSLAB_APPS_PAUSE_MAIN_H
#define NSLAB_APPS_PAUSE_MAIN_H

/* What /proc/self/exe runs when re-executed as argv[0] "nslab-pause"
 * (cmd_internal). Reaps children until SIGTERM; never returns. */
int pause_main (int argc, char **argv);

#endif
