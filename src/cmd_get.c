/* nslab get LAB [-n NS | -A] [-l SELECTOR] [-o wide|json] TYPE[,TYPE...] [NAME] | TYPE/NAME:
 * the tables kubectl get prints, without kubectl: the same request
 * answered by the same code as the lab's API server (apiserver/api.h),
 * printed as kubectl prints a server-side Table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api.h"
#include "view/k8s_table.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "scenario/flavor.h"

int
cmd_api_status_error (const struct api_response *r, nslab_error_t *err)
{
  const char *reason = json_string_value (json_object_get (r->body, "reason"));
  const char *msg = json_string_value (json_object_get (r->body, "message"));
  return nslab_error (err, 0, "Error from server (%s): %s", reason ? reason : "Unknown", msg ? msg : "");
}

int
cmd_get (int argc, char **argv, nslab_error_t *err)
{
  static const struct option opts[] = {
    { "namespace", required_argument, NULL, 'n' }, { "all-namespaces", no_argument, NULL, 'A' },
    { "selector", required_argument, NULL, 'l' },  { "output", required_argument, NULL, 'o' },
    { "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
  };
  const char *ns = "default", *sel = NULL, *output = "";
  bool all = false;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "+n:Al:o:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'n':
        ns = optarg;
        break;
      case 'A':
        all = true;
        break;
      case 'l':
        sel = optarg;
        break;
      case 'o':
        output = optarg;
        break;
      case 'h':
        return cli_help ("get");
      default:
        return cli_usage ("get");
      }
  /* Options may also follow the positional words, as kubectl allows. */
  const char *pos[3];
  int npos = 0;
  for (int i = optind; i < argc; i++)
    {
      if (strcmp (argv[i], "-A") == 0)
        all = true;
      else if ((strcmp (argv[i], "-n") == 0 || strcmp (argv[i], "-l") == 0 || strcmp (argv[i], "-o") == 0)
               && i + 1 < argc)
        {
          const char *v = argv[++i];
          if (argv[i - 1][1] == 'n')
            ns = v;
          else if (argv[i - 1][1] == 'l')
            sel = v;
          else
            output = v;
        }
      else if (npos < 3)
        pos[npos++] = argv[i];
      else
        return cli_usage ("get");
    }
  if (npos < 2 || (*output && strcmp (output, "wide") != 0 && strcmp (output, "json") != 0))
    return cli_usage ("get");
  const char *lab = pos[0], *name = npos == 3 ? pos[2] : NULL;
  /* kubectl's TYPE/NAME (deploy/web), one resource. */
  cleanup_free char *type_arg = xstrdup (pos[1]);
  char *slash = strchr (type_arg, '/');
  if (slash)
    {
      if (name || strchr (type_arg, ',') || slash[1] == '\0' || strchr (slash + 1, '/'))
        return cli_usage ("get");
      *slash = '\0';
      name = slash + 1;
    }
  bool wide = strcmp (output, "wide") == 0, json = strcmp (output, "json") == 0;
  struct api *a = NULL;
  if (api_open (lab, flavor_defaults (FLAVOR_K3S)->kube_version, "", &a, err) < 0)
    return -1;
  cleanup_free char *types = xstrdup (type_arg);
  int n_types = 0;
  for (char *p = types; *p; p++)
    n_types += *p == ',';
  n_types++;
  int rc = 0, printed = 0;
  char *save = NULL;
  for (char *type = strtok_r (types, ",", &save); type && rc == 0; type = strtok_r (NULL, ",", &save))
    {
      const char *word = NULL;
      cleanup_free char *path = api_path_for (type, all ? NULL : ns, name, &word);
      if (path == NULL)
        {
          rc = nslab_error_invalid (err, "error: the server doesn't have a resource type \"%s\"", type);
          break;
        }
      struct api_request req = { .method = "GET", .path = path, .label_selector = sel,
                                 .accept = json ? "application/json" : "application/json;as=Table;v=v1;g=meta.k8s.io" };
      struct api_response r;
      api_handle (a, &req, &r);
      /* As kubectl shows a Warning header: the quoted text alone. */
      const char *q = r.warning ? strchr (r.warning, '"') : NULL;
      if (q && r.code == 200)
        fprintf (stderr, "Warning: %.*s\n", (int) strcspn (q + 1, "\""), q + 1);
      if (r.code != 200)
        rc = cmd_api_status_error (&r, err);
      else if (json)
        {
          json_dumpf (r.body, stdout, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
          fputc ('\n', stdout);
        }
      else if (json_array_size (json_object_get (r.body, "rows")))
        {
          if (printed++)
            fputc ('\n', stdout);
          k8s_table_print (r.body, wide, all && name == NULL, n_types > 1 ? word : NULL, stdout);
        }
      api_response_free (&r);
    }
  if (rc == 0 && printed == 0 && !json)
    {
      if (all)
        fputs ("No resources found\n", stderr);
      else
        fprintf (stderr, "No resources found in %s namespace.\n", ns);
    }
  api_close (a);
  return rc;
}
