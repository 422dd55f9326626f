/* sysctl writes inside a named network namespace. /proc/sys/net resolves to
 * the namespace of the task that opens the file, so entering the namespace
 * for the open is enough; /proc need not be remounted. */
#ifndef NSLAB_SYSCTL_H
#define NSLAB_SYSCTL_H

#include "base/error.h"

/* net.ipv4.ip_forward -> /proc/sys/net/ipv4/ip_forward. A key containing a
 * '/' is already a path below /proc/sys (used when an interface name has a
 * dot: net/ipv6/conf/flannel.1/accept_ra). Caller frees. */
char *sysctl_path (const char *key);
/* Write value to key inside ns (NULL: the current namespace). */
int sysctl_write (const char *ns, const char *key, const char *value, nslab_error_t *err);
/* Read the value (trailing newline removed) inside ns. */
int sysctl_read (const char *ns, const char *key, char **out, nslab_error_t *err);

#endif
