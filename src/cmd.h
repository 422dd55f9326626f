/* One function per subcommand, each in src/cmd_<verb>.c. The calling
 * convention (return -1 with *err set, or an exit status >= 0) is described
 * in cli.h; only main() prints errors. */
#ifndef NSLAB_CMD_H
#define NSLAB_CMD_H

#include "base/error.h"

int cmd_validate (int argc, char **argv, nslab_error_t *err);
int cmd_plan (int argc, char **argv, nslab_error_t *err);
int cmd_up (int argc, char **argv, nslab_error_t *err);
int cmd_down (int argc, char **argv, nslab_error_t *err);
int cmd_ls (int argc, char **argv, nslab_error_t *err);
int cmd_status (int argc, char **argv, nslab_error_t *err);
int cmd_exec (int argc, char **argv, nslab_error_t *err);
int cmd_test (int argc, char **argv, nslab_error_t *err);
int cmd_export (int argc, char **argv, nslab_error_t *err);
int cmd_scale (int argc, char **argv, nslab_error_t *err);
int cmd_delete (int argc, char **argv, nslab_error_t *err);
int cmd_apply (int argc, char **argv, nslab_error_t *err);
/* Internal entry points reached by re-executing /proc/self/exe with a special
 * argv[0] (pause process, echo server). They run their own main loop and
 * return an exit status. */
int cmd_internal (int argc, char **argv);
/* nslab-controller LAB (cmd_controller.c), dispatched by cmd_internal. */
int controller_main (int argc, char **argv);
int cmd_get (int argc, char **argv, nslab_error_t *err);
int cmd_describe (int argc, char **argv, nslab_error_t *err);
/* A Status answer of the lab's API as kubectl prints it: "Error from
 * server (NotFound): pods \"x\" not found" (cmd_get.c). */
struct api_response;
int cmd_api_status_error (const struct api_response *r, nslab_error_t *err);
int cmd_kubectl (int argc, char **argv, nslab_error_t *err);
/* nslab-apiserver LAB (cmd_apiserver.c): the lab's API server. */
int apiserver_main (int argc, char **argv);
/* nslab-runtime LAB (cmd_controller.c): the loop's runtime agent. */
int runtime_main (int argc, char **argv);
/* nslab-coredns --port PORT [--domain DOMAIN] LAB (cmd_coredns.c): a coredns pod's DNS server. */
int coredns_main (int argc, char **argv);
/* nslab-kube-proxy ... LAB (cmd_kube_proxy.c): a node's kube-proxy health servers. */
int kube_proxy_main (int argc, char **argv);
/* nslab-export LAB FILE (cmd_export_archive.c): nslab export's archive. */
int export_main (int argc, char **argv);

#endif
