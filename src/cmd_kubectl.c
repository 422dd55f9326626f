/* nslab kubectl LAB ARGS...: the machine's kubectl (or $NSLAB_KUBECTL)
 * against LAB's API server, run from the lab host namespace (where the
 * seeds' user sits, on the host-only network) with the lab's kubeconfig. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/pki.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "state/state.h"

int
cmd_kubectl (int argc, char **argv, nslab_error_t *err)
{
  if (argc < 2 || cli_is_help (argv[1]))
    return argc < 2 ? cli_usage ("kubectl") : cli_help ("kubectl");
  const char *lab = argv[1];
  cleanup_free char *kc = xasprintf ("%s/%s/%s", state_root (), lab, KUBECONFIG_FILE);
  if (access (kc, R_OK) < 0)
    return nslab_error (err, 0, "lab %s has no API server (%s is missing): is it up?", lab, kc);
  setenv ("KUBECONFIG", kc, 1);
  const char *kubectl = getenv ("NSLAB_KUBECTL");
  /* exec LAB host -- KUBECTL ARGS... */
  char **xargv = xcalloc ((size_t) argc + 4, sizeof *xargv);
  int n = 0;
  xargv[n++] = (char *) "exec";
  xargv[n++] = (char *) lab;
  xargv[n++] = (char *) "host";
  xargv[n++] = (char *) "--";
  xargv[n++] = (char *) (kubectl && *kubectl ? kubectl : "kubectl");
  for (int i = 2; i < argc; i++)
    xargv[n++] = argv[i];
  int rc = cmd_exec (n, xargv, err);
  free (xargv);
  return rc;
}
