/* The lab's PKI, as k3s makes its own at first start: a CA, the API
 * server's serving certificate (for the control-plane node's INTERNAL-IP,
 * the kubernetes service's ClusterIP, 127.0.0.1 and the kubernetes.default
 * names), and an admin client certificate (CN system:admin, O
 * system:masters), ECDSA P-256 like k3s's, made with GnuTLS. They live in
 * the lab's state dir (pki/), with the kubeconfig beside them (the lab's
 * k3s.yaml: apiserver_kubeconfig). */
#ifndef NSLAB_APISERVER_PKI_H
#define NSLAB_APISERVER_PKI_H

#include <stddef.h>

#include "base/error.h"

#define PKI_DIR "pki"
/* In PKI_DIR beside ca.crt: the service account token every pod's
 * /var/run/secrets/kubernetes.io/serviceaccount/token links to. */
#define PKI_TOKEN "token"
#define KUBECONFIG_FILE "kubeconfig.yaml"

/* Write DIR/pki/{ca,server,client}.{crt,key} and DIR/pki/token; the server certificate names
 * IPS (dotted quads) and the DNS names of the kubernetes service in DOMAIN. */
int pki_create (const char *dir, const char *const *ips, size_t n_ips, const char *domain, nslab_error_t *err);
/* DIR/kubeconfig.yaml: cluster, user and context "default" (as k3s names
 * them) for SERVER ("https://192.168.56.10:6443"), certificates inline. */
int pki_write_kubeconfig (const char *dir, const char *server, nslab_error_t *err);
/* nslab-apiserver at its start, before up returns: the certificates and
 * kubeconfig of LAB in its state dir, for the API server on the
 * control-plane node's INTERNAL-IP (the kubernetes service's endpoint).
 * PARAMS is "NODE_IP PORT SERVICE_IP DOMAIN" (APISERVER_PKI_ENV, made by
 * control_start from the kubernetes service). */
int pki_lab_create (const char *lab, const char *params, nslab_error_t *err);
/* A file of DIR/pki as a string (caller frees); NULL with err. */
char *pki_read (const char *dir, const char *name, nslab_error_t *err);

#endif
