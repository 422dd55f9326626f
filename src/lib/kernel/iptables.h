/* iptables-restore inside a network namespace: fork, setns, execve of the
 * restore program of the backend the host's `iptables` uses (nft or
 * legacy), argv only, no shell; the payload goes through a pipe and stderr
 * is captured for the error message. Start and finish are split so the
 * restores of all nodes run at the same time. */
#ifndef NSLAB_IPTABLES_EXEC_H
#define NSLAB_IPTABLES_EXEC_H

#include <sys/types.h>

#include "base/error.h"
#include "base/util.h"

/* Absolute path of iptables-nft-restore or iptables-legacy-restore,
 * matching `iptables`; cached. NULL with err when none is found. */
const char *iptables_restore_program (nslab_error_t *err);
/* Start `<restore> --noflush --counters` inside ns fed with payload. */
int iptables_restore_start (const char *ns, const char *payload, struct child_job *job, nslab_error_t *err);
/* Wait for it; a non-zero exit becomes an error carrying its stderr. */
int iptables_restore_finish (struct child_job *job, nslab_error_t *err);
/* Both in one call. */
int iptables_restore (const char *ns, const char *payload, nslab_error_t *err);
/* `iptables-save -t TABLE` of the same backend inside ns (every table when
 * TABLE is NULL); *out gets its output (caller frees). */
int iptables_save (const char *ns, const char *table, char **out, nslab_error_t *err);

#endif
