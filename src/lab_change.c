#include "lab_change.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli.h"
#include "control/controller.h"
#include "state/store.h"

static const struct
{
  const char *word, *kind, *printed;
} types[] = {
  { "deploy", "Deployment", "deployment.apps" },     { "deployment", "Deployment", "deployment.apps" },
  { "deployments", "Deployment", "deployment.apps" }, { "rs", "ReplicaSet", "replicaset.apps" },
  { "replicaset", "ReplicaSet", "replicaset.apps" }, { "replicasets", "ReplicaSet", "replicaset.apps" },
  { "po", "Pod", "pod" },                            { "pod", "Pod", "pod" },
  { "pods", "Pod", "pod" },                          { "svc", "Service", "service" },
  { "service", "Service", "service" },               { "services", "Service", "service" },
};

int
lab_change_timeout (const char *s, int *ms)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (errno || end == s || v < 0)
    return -1;
  if (strcmp (end, "ms") == 0)
    ;
  else if (*end == '\0' || strcmp (end, "s") == 0)
    v *= 1000;
  else if (strcmp (end, "m") == 0)
    v *= 60000;
  else
    return -1;
  if (v > 3600000)
    return -1;
  *ms = (int) v;
  return 0;
}

int
lab_change_parse (const char *verb, int argc, char **argv, bool allow_replicas, struct lab_change_args *a,
                  nslab_error_t *err)
{
  static const struct option opts[] = {
    { "namespace", required_argument, NULL, 'n' }, { "timeout", required_argument, NULL, 't' },
    { "replicas", required_argument, NULL, 'r' },  { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  *a = (struct lab_change_args) { .verb = verb, .ns = "default", .timeout_ms = LAB_CHANGE_TIMEOUT_MS, .replicas = -1 };
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "n:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'n':
        a->ns = optarg;
        break;
      case 't':
        if (lab_change_timeout (optarg, &a->timeout_ms) < 0)
          return nslab_error_invalid (err, "nslab %s: --timeout: \"%s\" is not a duration (30s, 500ms, 2m)", verb,
                                      optarg);
        break;
      case 'r':
        {
          char *end;
          errno = 0;
          long v = strtol (optarg, &end, 10);
          if (!allow_replicas)
            return cli_usage (verb);
          if (errno || *end || v < 0 || v > 1000)
            return nslab_error_invalid (err, "nslab %s: --replicas: \"%s\" is not a number from 0 to 1000", verb,
                                        optarg);
          a->replicas = v;
          break;
        }
      case 'h':
        return cli_help (verb);
      default:
        return cli_usage (verb);
      }
  /* LAB and TYPE/NAME; getopt put the options anywhere first. */
  const char *pos[2];
  int npos = 0;
  for (int i = optind; i < argc; i++)
    {
      if (npos == 2)
        return cli_usage (verb);
      pos[npos++] = argv[i];
    }
  if (npos != 2 || (allow_replicas && a->replicas < 0))
    return cli_usage (verb);
  a->lab = pos[0];
  a->target = pos[1];
  const char *slash = strchr (pos[1], '/');
  if (slash == NULL || slash[1] == '\0')
    return nslab_error_invalid (err, "nslab %s: \"%s\": expected TYPE/NAME (deploy/web, pod/web-..., svc/web)", verb,
                                pos[1]);
  for (size_t i = 0; i < ARRAY_SIZE (types); i++)
    if (strlen (types[i].word) == (size_t) (slash - pos[1]) && strncmp (types[i].word, pos[1], slash - pos[1]) == 0)
      {
        a->kind = types[i].kind;
        a->type_word = types[i].printed;
      }
  if (a->kind == NULL)
    return nslab_error_invalid (err, "nslab %s: \"%.*s\": not a type nslab %s knows (deploy, rs, pod, svc)", verb,
                                (int) (slash - pos[1]), pos[1], verb);
  a->name = slash + 1;
  return CLI_GO_ON;
}

int
lab_change_wait (const char *lab, uint64_t rv, int timeout_ms, nslab_error_t *err)
{
  return control_wait (lab, rv, timeout_ms, err);
}

int
lab_change_commit (const struct lab_change_args *a, lab_change_fn change, nslab_error_t *err)
{
  struct store *s = NULL;
  if (store_open (a->lab, &s, err) < 0)
    return -1;
  json_t *obj = NULL;
  int rc = store_get (s, a->kind, a->ns, a->name, &obj, err);
  if (rc == 0 && obj == NULL)
    rc = nslab_error (err, 0, "lab %s: %s \"%s\" not found in namespace %s", a->lab, a->type_word, a->name, a->ns);
  uint64_t rv = 0;
  if (rc == 0)
    rc = change (s, obj, a, err);
  if (rc == 0)
    rc = store_resource_version (s, &rv, err);
  json_decref (obj);
  store_close (s);
  if (rc == 0 && lab_change_wait (a->lab, rv, a->timeout_ms, err) < 0)
    rc = nslab_error_wrap (err, "%s %s %s", a->verb, a->lab, a->target);
  return rc;
}
