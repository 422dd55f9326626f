/* Calling CNI plugins (see cni.h). */
#include "runtime/cni.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/netns.h"

/* Where containerd names the pods' network namespaces on a node. */
#define NODE_NETNS_DIR "/var/run/netns"

/* The child's steps between fork and execve: only async-signal-safe calls.
 * Its own mount namespace, private so nothing propagates back, with a
 * tmpfs over /var/lib holding just cni -> DATA_DIR, and (NODE_PATH: the
 * pod's name on the node, POD_FD_PATH its namespace) a tmpfs over
 * /var/run/netns holding just that name, as the node's holds it among its
 * other pods'; then the node's network namespace. */
static void
child (const struct cni_call *c, const char *prog, char *const envp[], int nsfd, const char *node_path,
       const char *pod_fd_path, int in, int out)
{
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
      || mount ("tmpfs", "/var/lib", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0
      || mkdir ("/var/lib/cni", 0700) < 0 || mount (c->data_dir, "/var/lib/cni", NULL, MS_BIND, NULL) < 0)
    _exit (125);
  if (node_path)
    {
      int f;
      if (mount ("tmpfs", NODE_NETNS_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0
          || (f = open (node_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)) < 0 || close (f) < 0
          || mount (pod_fd_path, node_path, NULL, MS_BIND, NULL) < 0)
        _exit (125);
    }
  if (setns (nsfd, CLONE_NEWNET) < 0)
    _exit (125);
  int devnull = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (dup2 (in, 0) < 0 || dup2 (out, 1) < 0 || devnull < 0 || dup2 (devnull, 2) < 0)
    _exit (126);
  char *const argv[] = { (char *) c->type, NULL };
  execve (prog, argv, envp);
  _exit (127);
}

static void
close_pair (int p[2])
{
  for (int i = 0; i < 2; i++)
    if (p[i] >= 0)
      close (p[i]);
}

int
cni_exec (const struct cni_call *c, char **result, nslab_error_t *err)
{
  *result = NULL;
  cleanup_free char *prog = xasprintf ("%s/%s", c->plugin_dir, c->type);
  if (access (prog, X_OK) < 0)
    {
      nslab_error (err, errno, "CNI plugin %s", prog);
      return nslab_error_hint (err, "cni_runtime = plugins needs Debian's containernetworking-plugins "
                                    "(apt-get install containernetworking-plugins, or make deps)");
    }
  /* The pod's namespace, held open for the child to bind under its node
   * name (a gone one, for a DEL: no name, an empty CNI_NETNS). */
  cleanup_close int podfd = -1;
  cleanup_free char *node_path = NULL, *pod_fd_path = NULL;
  if (c->node_netns && c->netns_path && *c->netns_path)
    {
      if (strchr (c->node_netns, '/') || strncmp (c->node_netns, "cni-", 4) != 0)
        return nslab_error (err, EINVAL, "CNI_NETNS name %s: not a cni-... name", c->node_netns);
      podfd = open (c->netns_path, O_RDONLY | O_CLOEXEC);
      if (podfd < 0)
        return nslab_error (err, errno, "open %s", c->netns_path);
      node_path = xasprintf (NODE_NETNS_DIR "/%s", c->node_netns);
      pod_fd_path = xasprintf ("/proc/self/fd/%d", podfd);
    }
  int nsfd = netns_open (c->node_ns, err);
  if (nsfd < 0)
    return -1;
  cleanup_free char *e_cmd = xasprintf ("CNI_COMMAND=%s", c->command);
  cleanup_free char *e_id = xasprintf ("CNI_CONTAINERID=%s", c->container_id);
  cleanup_free char *e_ns = xasprintf ("CNI_NETNS=%s", node_path ? node_path : c->netns_path);
  cleanup_free char *e_if = xasprintf ("CNI_IFNAME=%s", c->ifname);
  cleanup_free char *e_args = xasprintf ("CNI_ARGS=%s", c->args ? c->args : "");
  cleanup_free char *e_path = xasprintf ("CNI_PATH=%s", c->plugin_dir);
  char *const envp[] = { e_cmd, e_id, e_ns, e_if, e_args, e_path, (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                         NULL };
  /* The config goes into the pipe before the plugin starts: it fits a
   * pipe's buffer, and nothing can be written to a reader already gone
   * (no SIGPIPE to handle, which threads could not do one by one). */
  size_t len = strlen (c->config);
  if (len > 60000)
    {
      close (nsfd);
      return nslab_error (err, EFBIG, "CNI config for %s %s: %zu bytes, too long", c->type, c->ifname, len);
    }
  int in[2] = { -1, -1 }, out[2] = { -1, -1 };
  if (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (out, O_CLOEXEC) < 0)
    {
      int e = errno;
      close_pair (in);
      close (nsfd);
      return nslab_error (err, e, "pipe for CNI plugin %s", c->type);
    }
  if (write (in[1], c->config, len) != (ssize_t) len)
    {
      int e = errno;
      close_pair (in);
      close_pair (out);
      close (nsfd);
      return nslab_error (err, e ? e : EIO, "write CNI config for %s", c->type);
    }
  close (in[1]);
  pid_t pid = fork ();
  if (pid == 0)
    child (c, prog, envp, nsfd, node_path, pod_fd_path, in[0], out[1]);
  int fork_errno = errno;
  close (nsfd);
  close (in[0]);
  close (out[1]);
  if (pid < 0)
    {
      close (out[0]);
      return nslab_error (err, fork_errno, "fork CNI plugin %s", c->type);
    }
  char *stdout_text = fd_read_all (out[0]);
  close (out[0]);
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        free (stdout_text);
        return nslab_error (err, errno, "wait for CNI plugin %s", c->type);
      }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    {
      *result = stdout_text;
      return 0;
    }
  cleanup_free char *msg = cni_error_message (stdout_text);
  free (stdout_text);
  if (msg)
    return nslab_error (err, 0, "CNI plugin %s %s %s: %s", c->type, c->command, c->ifname, msg);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 125)
    return nslab_error (err, 0, "CNI plugin %s %s %s: could not set up its mount or network namespace (%s)",
                        c->type, c->command, c->ifname, c->node_ns);
  if (WIFEXITED (status))
    return nslab_error (err, 0, "CNI plugin %s %s %s: exit status %d", c->type, c->command, c->ifname,
                        WEXITSTATUS (status));
  return nslab_error (err, 0, "CNI plugin %s %s %s: killed by signal %d", c->type, c->command, c->ifname,
                      WIFSIGNALED (status) ? WTERMSIG (status) : 0);
}

char *
cni_error_message (const char *text)
{
  json_t *j = text ? json_loads (text, 0, NULL) : NULL;
  const char *msg = json_string_value (json_object_get (j, "msg"));
  const char *details = json_string_value (json_object_get (j, "details"));
  json_t *code = json_object_get (j, "code");
  char *s = NULL;
  if (msg)
    s = xasprintf ("%s%s%s (code %lld)", msg, details && *details ? ": " : "", details && *details ? details : "",
                   json_is_integer (code) ? (long long) json_integer_value (code) : -1LL);
  json_decref (j);
  return s;
}

static int
bad_result (nslab_error_t *err, const char *what)
{
  return nslab_error (err, 0, "CNI result: %s", what);
}

int
cni_result_parse (const char *text, struct cni_result *out, nslab_error_t *err)
{
  memset (out, 0, sizeof *out);
  json_error_t jerr;
  json_t *j = json_loads (text, 0, &jerr);
  if (j == NULL)
    return nslab_error (err, 0, "CNI result: not JSON (line %d: %s)", jerr.line, jerr.text);
  int rc = 0;
  const json_t *ifs = json_object_get (j, "interfaces"), *ips = json_object_get (j, "ips");
  if (!json_is_object (j) || (ifs && !json_is_array (ifs)) || (ips && !json_is_array (ips)))
    rc = bad_result (err, "not an object with arrays \"interfaces\" and \"ips\"");
  /* Host-side interfaces have no "sandbox": the bridge comes first, then the
   * pod's host veth (bridge.go's result order). */
  size_t i;
  const json_t *e;
  json_array_foreach (ifs, i, e)
    {
      const char *name = json_string_value (json_object_get (e, "name"));
      const json_t *sb = json_object_get (e, "sandbox");
      if (rc < 0 || name == NULL || (json_is_string (sb) && *json_string_value (sb)))
        continue;
      if (out->bridge == NULL)
        out->bridge = xstrdup (name);
      else if (out->host_veth == NULL)
        out->host_veth = xstrdup (name);
    }
  bool have_ip = false;
  json_array_foreach (ips, i, e)
    {
      const char *a = json_string_value (json_object_get (e, "address"));
      const char *gw = json_string_value (json_object_get (e, "gateway"));
      const char *ver = json_string_value (json_object_get (e, "version"));
      struct cidr c;
      if (rc < 0 || have_ip || a == NULL || (ver && strcmp (ver, "4") != 0) || !cidr_parse (a, &c, false))
        continue;
      if (gw && !ip_parse (gw, &out->gateway))
        {
          rc = bad_result (err, "gateway is not an IPv4 address");
          break;
        }
      out->ip = c;
      have_ip = true;
    }
  json_decref (j);
  if (rc < 0)
    cni_result_free (out);
  return rc;
}

void
cni_result_free (struct cni_result *r)
{
  free (r->bridge);
  free (r->host_veth);
  r->bridge = r->host_veth = NULL;
}
