/* nftables through libnftables, inside a network namespace: the calling
 * thread enters the namespace, a libnftables context (whose netlink socket
 * is opened there) runs one `nft -f`-style buffer as one transaction, and
 * the thread returns to its own namespace on every path. */
#ifndef NSLAB_NFTABLES_H
#define NSLAB_NFTABLES_H

#include "base/error.h"
#include "base/util.h"

/* Run PAYLOAD (nft commands, as `nft -f` reads them) in namespace NS (the
 * current one when NULL): all of it is applied or none. An error carries
 * the first line libnftables reported. */
int nftables_run (const char *ns, const char *payload, nslab_error_t *err);
/* The same as `nft -f -` (libnftables' command-line front end, as
 * kube-proxy runs it) in a fresh process, started and finished apart, so
 * that the transactions of several namespaces run at once (the control
 * loop's nodes). Its error is nft's first line: "NS: nft: /dev/stdin:LINE:
 * COLUMNS: Error: ...". */
int nftables_start (const char *ns, const char *payload, struct child_job *job, nslab_error_t *err);
int nftables_finish (struct child_job *job, nslab_error_t *err);
/* Run COMMAND ("list table ip kube-proxy", "list ruleset") in NS and give
 * its output in *out (caller frees). */
int nftables_list (const char *ns, const char *command, char **out, nslab_error_t *err);

#endif
