/* nslab-kube-proxy [--healthz-bind-address IP[:PORT]] [--nodeport-addresses
 * CIDR,...] --hostname-override NODE LAB: the health servers of a node's
 * kube-proxy (proxy/health_server.h), run as the node's app by its pause
 * process (apply.c starts it; the flags are kube-proxy's own). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "base/error.h"
#include "base/util.h"
#include "proxy/health_server.h"
#include "scenario/keys.h"

/* The proxier's healthz port (ports.ProxyHealthzPort). */
#define PROXY_HEALTHZ_PORT 10256

static bool
parse_bind (const char *s, uint32_t *ip, uint16_t *port)
{
  char buf[32];
  snprintf (buf, sizeof buf, "%s", s);
  char *colon = strchr (buf, ':');
  if (colon)
    {
      *colon = '\0';
      if (!parse_port (colon + 1, port))
        return false;
    }
  return ip_parse (buf, ip);
}

int
kube_proxy_main (int argc, char **argv)
{
  struct kube_proxy_health_config cfg = { .healthz_port = PROXY_HEALTHZ_PORT };
  cleanup_free struct cidr *cidrs = NULL;
  size_t n_cidrs = 0;
  int i = 1;
  bool ok = true;
  for (; ok && i + 1 < argc && strncmp (argv[i], "--", 2) == 0; i += 2)
    if (strcmp (argv[i], "--healthz-bind-address") == 0)
      ok = parse_bind (argv[i + 1], &cfg.healthz_ip, &cfg.healthz_port);
    else if (strcmp (argv[i], "--hostname-override") == 0)
      cfg.node = argv[i + 1];
    else if (strcmp (argv[i], "--nodeport-addresses") == 0)
      {
        cleanup_free char *list = xstrdup (argv[i + 1]);
        char *save = NULL;
        for (char *c = strtok_r (list, ",", &save); c && ok; c = strtok_r (NULL, ",", &save))
          ok = cidr_parse (c, VEC_PUSH (cidrs, n_cidrs), false);
      }
    else
      ok = false;
  if (!ok || cfg.node == NULL || i != argc - 1)
    {
      fputs ("nslab-kube-proxy: started as a node's app by nslab up (nslab-kube-proxy [--healthz-bind-address "
             "IP[:PORT]] [--nodeport-addresses CIDR,...] --hostname-override NODE LAB)\n", stderr);
      return NSLAB_EXIT_INVALID;
    }
  cfg.lab = argv[i];
  cfg.nodeport_cidrs = cidrs;
  cfg.n_nodeport_cidrs = n_cidrs;
  cli_daemon_init (NULL);
  nslab_error_t err = NULL;
  kube_proxy_health_serve (&cfg, &err);
  fprintf (stderr, "nslab-kube-proxy: %s\n", err ? err->msg : "stopped");
  nslab_error_free (&err);
  return NSLAB_EXIT_FAILURE;
}
