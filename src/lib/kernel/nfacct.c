/* nfnetlink_acct NEW requests over libmnl (see nfacct.h). */
#include "kernel/nfacct.h"

#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_acct.h>
#include <libmnl/libmnl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "kernel/netns.h"

int
nfacct_add (const char *ns, const char *name, nslab_error_t *err)
{
  /* The socket belongs to the namespace it is opened in; the guard takes
     us back on every path. */
  cleanup_netns struct netns_guard g = NETNS_GUARD_INIT;
  if (netns_enter (&g, ns, err) < 0)
    return -1;
  struct mnl_socket *nl = mnl_socket_open2 (NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (nl == NULL)
    return nslab_error (err, errno, "%s: nfacct add %s: netlink socket", ns, name);
  int rc = 0;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_ACCT << 8) | NFNL_MSG_ACCT_NEW;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  nlh->nlmsg_seq = (uint32_t) time (NULL);
  struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header (nlh, sizeof *nfg);
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  mnl_attr_put_strz (nlh, NFACCT_NAME, name);
  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0 || mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    rc = nslab_error (err, errno, "%s: nfacct add %s", ns, name);
  else
    {
      ssize_t n = mnl_socket_recvfrom (nl, buf, sizeof buf);
      if (n < 0)
        rc = nslab_error (err, errno, "%s: nfacct add %s", ns, name);
      else if (mnl_cb_run (buf, (size_t) n, nlh->nlmsg_seq, mnl_socket_get_portid (nl), NULL, NULL) < 0
               && errno != EBUSY && errno != EEXIST)
        rc = nslab_error (err, errno, "%s: nfacct add %s%s", ns, name,
                          errno == ENOENT || errno == EOPNOTSUPP ? " (no nfnetlink_acct in the kernel)" : "");
    }
  mnl_socket_close (nl);
  return rc;
}
