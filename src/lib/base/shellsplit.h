/* Split a command line the way a POSIX shell splits words, without any
 * expansion: blanks separate words, 'single quotes' keep everything
 * literally, "double quotes" keep everything but let a backslash escape
 * \ " $ ` (and a newline), and outside quotes a backslash makes the next
 * character literal. No variables, globs, pipes or redirections: the words
 * go to execve() as they are.
 * Hand-written on purpose: wordexp(3) expands ($, ~, globs, even with
 * WRDE_NOCMD), and GLib's g_shell_parse_argv drops '#' comments and would
 * pull in GLib for one function. */
#ifndef NSLAB_SHELLSPLIT_H
#define NSLAB_SHELLSPLIT_H

#include <stddef.h>

/* On success returns 0 and a NULL-terminated argv (free with
 * shell_argv_free), possibly with zero words. On a syntax error returns -1
 * and sets *why to a static description ("unterminated double quote"). */
int shell_split (const char *cmd, char ***argv, size_t *argc, const char **why);
void shell_argv_free (char **argv);

#endif
