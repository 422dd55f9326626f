/* nslab describe LAB [-n NS] TYPE [NAME_PREFIX] | TYPE/NAME: what kubectl
 * describe prints, without kubectl. As kubectl: TYPE alone describes every
 * object of the type in the namespace; TYPE NAME describes NAME or, when
 * there is no such object, every one whose name starts with NAME. The
 * object, its events, a service's EndpointSlices, a deployment's
 * ReplicaSets, a ReplicaSet's pods, a node's lease and pods are read with the
 * requests kubectl's describers send, answered by the lab's API code
 * (apiserver/api.h, as `nslab get`); view/k8s_describe.h prints them as
 * kubectl does. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/api.h"
#include "base/util.h"
#include "cli.h"
#include "cmd.h"
#include "scenario/flavor.h"
#include "view/k8s_describe.h"
#include "view/k8s_table.h"

/* GET PATH as JSON (a list's items when ITEMS); NULL with *err set on a
 * Status answer. New reference. */
static json_t *
api_get (struct api *a, const char *path, const char *label_selector, const char *field_selector, bool items,
         nslab_error_t *err)
{
  struct api_request req = { .method = "GET", .path = path, .accept = "application/json",
                             .label_selector = label_selector, .field_selector = field_selector };
  struct api_response r;
  api_handle (a, &req, &r);
  json_t *out = NULL;
  if (r.code != 200)
    cmd_api_status_error (&r, err);
  else
    {
      /* As kubectl shows a Warning header (the Endpoints deprecation). */
      static char *shown; /* kubectl's warning writer prints each text once */
      const char *q = r.warning ? strchr (r.warning, '"') : NULL;
      if (q && (shown == NULL || strcmp (shown, r.warning) != 0))
        {
          fprintf (stderr, "Warning: %.*s\n", (int) strcspn (q + 1, "\""), q + 1);
          free (shown);
          shown = xstrdup (r.warning);
        }
      out = json_incref (items ? json_object_get (r.body, "items") : r.body);
    }
  api_response_free (&r);
  return out;
}

/* The describe text of OBJ (as GET answered it) into *TEXT: the requests
 * its describer sends for the rest. WORD: how kubectl names the type. */
static int
describe_fetched (struct api *a, const json_t *obj, const char *word, char **text, nslab_error_t *err)
{
  const char *kind = json_string_value (json_object_get (obj, "kind")) ?: "";
  if (!k8s_describe_known (kind))
    return nslab_error_invalid (
        err, "no describer for %s (pods, services, endpoints, deployments, replicasets, nodes, namespaces)", word);
  int rc = -1;
  json_t *events = NULL, *slices = NULL, *replicasets = NULL, *lease = NULL, *pods = NULL;
  const json_t *meta = json_object_get (obj, "metadata");
  const char *oname = json_string_value (json_object_get (meta, "name")) ?: "";
  const char *ons = json_string_value (json_object_get (meta, "namespace")) ?: "";
  bool node = strcmp (kind, "Node") == 0;
  /* searchEvents: the field selector of EventInterface.GetFieldSelector;
   * a node's events are found by its UID and, as kubelet names it, by its
   * name. The namespace describer shows none. */
  if (strcmp (kind, "Namespace") != 0)
    {
      cleanup_free char *events_path
          = *ons ? xasprintf ("/api/v1/namespaces/%s/events", ons) : xstrdup ("/api/v1/events");
      const char *uid = json_string_value (json_object_get (meta, "uid")) ?: "";
      events = json_array ();
      for (int pass = 0; pass < (node ? 2 : 1); pass++)
        {
          cleanup_free char *sel = xasprintf (
              "involvedObject.name=%s,involvedObject.namespace=%s,involvedObject.kind=%s,involvedObject.uid=%s",
              oname, ons, kind, pass ? oname : uid);
          json_t *found = api_get (a, events_path, NULL, sel, true, err);
          if (found == NULL)
            goto out;
          json_array_extend (events, found);
          json_decref (found);
        }
    }
  if (node)
    {
      cleanup_free char *p = xasprintf ("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", oname);
      cleanup_free char *sel = xasprintf ("spec.nodeName=%s,status.phase!=Succeeded,status.phase!=Failed", oname);
      if ((lease = api_get (a, p, NULL, NULL, false, err)) == NULL
          || (pods = api_get (a, "/api/v1/pods", NULL, sel, true, err)) == NULL)
        goto out;
    }
  if (strcmp (kind, "Service") == 0)
    {
      cleanup_free char *p = xasprintf ("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ons);
      cleanup_free char *sel = xasprintf ("kubernetes.io/service-name=%s", oname);
      if ((slices = api_get (a, p, sel, NULL, true, err)) == NULL)
        goto out;
    }
  if (strcmp (kind, "Deployment") == 0)
    {
      cleanup_free char *p = xasprintf ("/apis/apps/v1/namespaces/%s/replicasets", ons);
      if ((replicasets = api_get (a, p, NULL, NULL, true, err)) == NULL)
        goto out;
    }
  if (strcmp (kind, "ReplicaSet") == 0)
    {
      /* getPodStatusForController: the pods its selector lists */
      cleanup_free char *p = xasprintf ("/api/v1/namespaces/%s/pods", ons);
      cleanup_free char *sel = k8s_format_label_selector (json_object_get (json_object_get (obj, "spec"), "selector"));
      if ((pods = api_get (a, p, sel, NULL, true, err)) == NULL)
        goto out;
    }
  struct k8s_describe_related rel
      = { .events = events, .slices = slices, .replicasets = replicasets, .lease = lease, .pods = pods };
  *text = k8s_describe (obj, &rel, time (NULL));
  rc = 0;
out:
  json_decref (events);
  json_decref (slices);
  json_decref (replicasets);
  json_decref (lease);
  json_decref (pods);
  return rc;
}

/* The describe text of TYPE NAME in NS, fetched as kubectl's describer
 * does (a GET of the object first). */
static int
describe_named (struct api *a, const char *type, const char *ns, const char *name, char **text, nslab_error_t *err)
{
  const char *word = NULL;
  cleanup_free char *path = api_path_for (type, ns, name, &word);
  json_t *obj = api_get (a, path, NULL, NULL, false, err);
  if (obj == NULL)
    return -1;
  int rc = describe_fetched (a, obj, word, text, err);
  json_decref (obj);
  return rc;
}

/* The names of TYPE's objects in NS, as the list answers them; NULL with
 * *err set on a Status answer. */
static json_t *
list_names (struct api *a, const char *type, const char *ns, nslab_error_t *err)
{
  const char *word = NULL;
  cleanup_free char *path = api_path_for (type, ns, NULL, &word);
  json_t *items = api_get (a, path, NULL, NULL, true, err);
  if (items == NULL)
    return NULL;
  json_t *names = json_array ();
  size_t i;
  json_t *o;
  json_array_foreach (items, i, o) json_array_append (names, json_object_get (json_object_get (o, "metadata"), "name"));
  json_decref (items);
  return names;
}

int
cmd_describe (int argc, char **argv, nslab_error_t *err)
{
  static const struct option opts[] = {
    { "namespace", required_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *ns = "default";
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "+n:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'n':
        ns = optarg;
        break;
      case 'h':
        return cli_help ("describe");
      default:
        return cli_usage ("describe");
      }
  /* -n may also follow the positional words, as kubectl allows. */
  const char *pos[3];
  int npos = 0;
  for (int i = optind; i < argc; i++)
    {
      if ((strcmp (argv[i], "-n") == 0 || strcmp (argv[i], "--namespace") == 0) && i + 1 < argc)
        ns = argv[++i];
      else if (npos < 3)
        pos[npos++] = argv[i];
      else
        return cli_usage ("describe");
    }
  if (npos < 2)
    return cli_usage ("describe");
  cleanup_free char *type = xstrdup (pos[1]);
  char *slash = strchr (type, '/');
  const char *name = NULL;
  if (slash && npos == 2)
    {
      *slash = '\0';
      name = slash + 1;
      if (*name == '\0')
        return cli_usage ("describe");
    }
  else if (slash)
    return cli_usage ("describe");
  else if (npos == 3)
    name = pos[2];
  const char *word = NULL;
  cleanup_free char *path = api_path_for (type, ns, name, &word);
  if (path == NULL)
    return nslab_error_invalid (err, "error: the server doesn't have a resource type \"%s\"", type);

  struct api *a = NULL;
  if (api_open (pos[0], flavor_defaults (FLAVOR_K3S)->kube_version, "", &a, err) < 0)
    return -1;
  int rc = -1;
  json_t *names = NULL;
  if (name)
    {
      char *text = NULL;
      if (describe_named (a, type, ns, name, &text, err) == 0)
        {
          fputs (text, stdout);
          free (text);
          rc = 0;
          goto out;
        }
      /* DescribeMatchingResources: TYPE NAME (not TYPE/NAME) that is not
       * found describes every object whose name starts with NAME, each
       * followed by an empty line; none: the first NotFound. */
      if (npos != 3 || strstr ((*err)->msg, "(NotFound)") == NULL)
        goto out;
      nslab_error_t list_err = NULL;
      if ((names = list_names (a, type, ns, &list_err)) == NULL)
        {
          nslab_error_free (&list_err);
          goto out;
        }
      size_t matched = 0, i;
      json_t *n;
      json_array_foreach (names, i, n)
        {
          if (!str_has_prefix (json_string_value (n), name))
            continue;
          if (matched++ == 0)
            nslab_error_free (err);
          if (describe_named (a, type, ns, json_string_value (n), &text, err) < 0)
            goto out;
          printf ("%s\n", text);
          free (text);
        }
      rc = matched ? 0 : -1;
      goto out;
    }
  /* TYPE alone: each object of the list, separated by two empty lines. */
  if ((names = list_names (a, type, ns, err)) == NULL)
    goto out;
  size_t i;
  json_t *n;
  json_array_foreach (names, i, n)
    {
      char *text = NULL;
      if (describe_named (a, type, ns, json_string_value (n), &text, err) < 0)
        goto out;
      printf ("%s%s", i ? "\n\n" : "", text);
      free (text);
    }
  if (json_array_size (names) == 0)
    fprintf (stderr, "No resources found in %s namespace.\n", ns);
  rc = 0;
out:
  json_decref (names);
  api_close (a);
  return rc;
}
