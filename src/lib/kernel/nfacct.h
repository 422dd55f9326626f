/* Extended accounting objects (nfnetlink_acct): the named packet/byte
 * counters that iptables' -m nfacct --nfacct-name NAME adds to, as the
 * `nfacct add NAME` tool (and kube-proxy's nfacct.Ensure) creates them.
 * They live in the network namespace and go with it. */
#ifndef NSLAB_KERNEL_NFACCT_H
#define NSLAB_KERNEL_NFACCT_H

#include "base/error.h"

/* Create counter NAME in namespace NS; one that exists already is kept
 * (EBUSY from the kernel is success, as kube-proxy treats it). */
int nfacct_add (const char *ns, const char *name, nslab_error_t *err);

#endif
