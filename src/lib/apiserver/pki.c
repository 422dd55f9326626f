/* The lab's PKI (see pki.h), with GnuTLS's X.509 API. */
#include "apiserver/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/ipaddr.h"
#include "base/util.h"
#include "state/state.h"

/* k3s's certificates last a year, its CA ten. */
#define CA_DAYS 3650
#define LEAF_DAYS 365

static int
tls_error (nslab_error_t *err, int rc, const char *what)
{
  return nslab_error (err, 0, "%s: %s", what, gnutls_strerror (rc));
}

struct keypair {
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
};

static void
keypair_free (struct keypair *k)
{
  if (k->crt)
    gnutls_x509_crt_deinit (k->crt);
  if (k->key)
    gnutls_x509_privkey_deinit (k->key);
}

static int
write_file (const char *path, const gnutls_datum_t *d, mode_t mode, nslab_error_t *err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return nslab_error (err, errno, "create %s", path);
  if (write (fd, d->data, d->size) != (ssize_t) d->size)
    return nslab_error (err, errno, "write %s", path);
  return 0;
}

/* Generate a key and a certificate for DN, signed by ISSUER (self-signed
 * when NULL). */
static int
make_cert (struct keypair *out, const char *dn, bool ca, bool server, const struct keypair *issuer, int days,
           const char *const *ips, size_t n_ips, const char *const *names, nslab_error_t *err)
{
  int rc;
  *out = (struct keypair) { 0 };
  if ((rc = gnutls_x509_privkey_init (&out->key)) < 0
      || (rc = gnutls_x509_privkey_generate (out->key, GNUTLS_PK_ECDSA,
                                             GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0))
             < 0)
    return tls_error (err, rc, "generate a key");
  if ((rc = gnutls_x509_crt_init (&out->crt)) < 0)
    return tls_error (err, rc, "certificate");
  unsigned char serial[8];
  gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;
  time_t now = time (NULL);
  const char *bad = NULL;
  if ((rc = gnutls_x509_crt_set_version (out->crt, 3)) < 0 || (rc = gnutls_x509_crt_set_serial (out->crt, serial, sizeof serial)) < 0
      || (rc = gnutls_x509_crt_set_activation_time (out->crt, now - 60)) < 0
      || (rc = gnutls_x509_crt_set_expiration_time (out->crt, now + (time_t) days * 86400)) < 0
      || (rc = gnutls_x509_crt_set_dn (out->crt, dn, &bad)) < 0 || (rc = gnutls_x509_crt_set_key (out->crt, out->key)) < 0
      || (rc = gnutls_x509_crt_set_basic_constraints (out->crt, ca, -1)) < 0)
    return tls_error (err, rc, dn);
  unsigned usage = ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_CRL_SIGN
                      : GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT;
  if ((rc = gnutls_x509_crt_set_key_usage (out->crt, usage)) < 0)
    return tls_error (err, rc, dn);
  if (!ca && (rc = gnutls_x509_crt_set_key_purpose_oid (out->crt, server ? GNUTLS_KP_TLS_WWW_SERVER
                                                                          : GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0)
    return tls_error (err, rc, dn);
  for (size_t i = 0; names && names[i]; i++)
    if ((rc = gnutls_x509_crt_set_subject_alt_name (out->crt, GNUTLS_SAN_DNSNAME, names[i], strlen (names[i]),
                                                    GNUTLS_FSAN_APPEND)) < 0)
      return tls_error (err, rc, names[i]);
  for (size_t i = 0; i < n_ips; i++)
    {
      unsigned char a[4];
      if (inet_pton (AF_INET, ips[i], a) != 1)
        return nslab_error (err, EINVAL, "certificate address \"%s\"", ips[i]);
      if ((rc = gnutls_x509_crt_set_subject_alt_name (out->crt, GNUTLS_SAN_IPADDRESS, a, 4, GNUTLS_FSAN_APPEND)) < 0)
        return tls_error (err, rc, ips[i]);
    }
  unsigned char kid[64];
  size_t kid_len = sizeof kid;
  if ((rc = gnutls_x509_crt_get_key_id (out->crt, 0, kid, &kid_len)) < 0
      || (rc = gnutls_x509_crt_set_subject_key_id (out->crt, kid, kid_len)) < 0)
    return tls_error (err, rc, dn);
  const struct keypair *by = issuer ? issuer : out;
  if ((rc = gnutls_x509_crt_sign2 (out->crt, by->crt, by->key, GNUTLS_DIG_SHA256, 0)) < 0)
    return tls_error (err, rc, "sign");
  return 0;
}

static int
save (const char *dir, const char *name, const struct keypair *k, nslab_error_t *err)
{
  gnutls_datum_t crt = { 0 }, key = { 0 };
  int rc = gnutls_x509_crt_export2 (k->crt, GNUTLS_X509_FMT_PEM, &crt);
  if (rc >= 0)
    rc = gnutls_x509_privkey_export2 (k->key, GNUTLS_X509_FMT_PEM, &key);
  if (rc < 0)
    rc = tls_error (err, rc, "export");
  else
    {
      cleanup_free char *cp = xasprintf ("%s/%s.crt", dir, name), *kp = xasprintf ("%s/%s.key", dir, name);
      rc = write_file (cp, &crt, 0644, err);
      if (rc == 0)
        rc = write_file (kp, &key, 0600, err);
    }
  gnutls_free (crt.data);
  gnutls_free (key.data);
  return rc;
}

int
pki_create (const char *dir, const char *const *ips, size_t n_ips, const char *domain, nslab_error_t *err)
{
  cleanup_free char *pki = xasprintf ("%s/%s", dir, PKI_DIR);
  if (mkdir (pki, 0700) < 0 && errno != EEXIST)
    return nslab_error (err, errno, "mkdir %s", pki);
  cleanup_free char *n3 = xasprintf ("kubernetes.default.svc.%s", domain);
  const char *names[] = { "kubernetes", "kubernetes.default", "kubernetes.default.svc", n3, "localhost", NULL };
  cleanup_free char *ca_dn = xasprintf ("CN=k3s-server-ca@%lld", (long long) time (NULL));
  struct keypair ca = { 0 }, srv = { 0 }, cli = { 0 };
  int rc = make_cert (&ca, ca_dn, true, false, NULL, CA_DAYS, NULL, 0, NULL, err);
  if (rc == 0)
    rc = make_cert (&srv, "O=k3s,CN=k3s", false, true, &ca, LEAF_DAYS, ips, n_ips, names, err);
  if (rc == 0)
    rc = make_cert (&cli, "O=system:masters,CN=system:admin", false, false, &ca, LEAF_DAYS, NULL, 0, NULL, err);
  if (rc == 0)
    rc = save (pki, "ca", &ca, err);
  if (rc == 0)
    rc = save (pki, "server", &srv, err);
  if (rc == 0)
    rc = save (pki, "client", &cli, err);
  /* The service account token pods find beside ca.crt (in-cluster clients
   * send it as their bearer token). The lab's API server authenticates no
   * one (every client is admin), so it is an opaque random string rather
   * than a signed JWT. */
  unsigned char rnd[32];
  char hex[sizeof rnd * 2 + 1];
  if (rc == 0 && (rc = gnutls_rnd (GNUTLS_RND_RANDOM, rnd, sizeof rnd)) < 0)
    rc = tls_error (err, rc, "token");
  if (rc == 0)
    {
      for (size_t i = 0; i < sizeof rnd; i++)
        snprintf (hex + 2 * i, 3, "%02x", rnd[i]);
      gnutls_datum_t tok = { (unsigned char *) hex, (unsigned) strlen (hex) };
      cleanup_free char *tp = xasprintf ("%s/%s", pki, PKI_TOKEN);
      rc = write_file (tp, &tok, 0644, err);
    }
  keypair_free (&ca);
  keypair_free (&srv);
  keypair_free (&cli);
  if (rc < 0)
    nslab_error_wrap (err, "the lab's certificates (%s)", pki);
  return rc;
}

char *
pki_read (const char *dir, const char *name, nslab_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s/%s", dir, PKI_DIR, name);
  cleanup_file FILE *f = fopen (path, "re");
  if (f == NULL)
    {
      nslab_error (err, errno, "open %s", path);
      return NULL;
    }
  struct strbuf sb;
  sb_init (&sb);
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    sb_addn (&sb, buf, n);
  return sb_steal (&sb);
}

static char *
base64_of (const char *dir, const char *name, nslab_error_t *err)
{
  cleanup_free char *pem = pki_read (dir, name, err);
  if (pem == NULL)
    return NULL;
  gnutls_datum_t in = { (unsigned char *) pem, (unsigned) strlen (pem) }, out = { 0 };
  if (gnutls_base64_encode2 (&in, &out) < 0)
    {
      nslab_error (err, 0, "base64 of %s", name);
      return NULL;
    }
  char *s = xstrndup ((const char *) out.data, out.size);
  gnutls_free (out.data);
  return s;
}

int
pki_write_kubeconfig (const char *dir, const char *server, nslab_error_t *err)
{
  cleanup_free char *ca = base64_of (dir, "ca.crt", err);
  cleanup_free char *crt = ca ? base64_of (dir, "client.crt", err) : NULL;
  cleanup_free char *key = crt ? base64_of (dir, "client.key", err) : NULL;
  if (key == NULL)
    return -1;
  /* The layout k3s writes to /etc/rancher/k3s/k3s.yaml. */
  cleanup_free char *text = xasprintf ("apiVersion: v1\n"
                                       "clusters:\n"
                                       "- cluster:\n"
                                       "    certificate-authority-data: %s\n"
                                       "    server: %s\n"
                                       "  name: default\n"
                                       "contexts:\n"
                                       "- context:\n"
                                       "    cluster: default\n"
                                       "    user: default\n"
                                       "  name: default\n"
                                       "current-context: default\n"
                                       "kind: Config\n"
                                       "preferences: {}\n"
                                       "users:\n"
                                       "- name: default\n"
                                       "  user:\n"
                                       "    client-certificate-data: %s\n"
                                       "    client-key-data: %s\n",
                                       ca, server, crt, key);
  cleanup_free char *path = xasprintf ("%s/%s", dir, KUBECONFIG_FILE);
  gnutls_datum_t d = { (unsigned char *) text, (unsigned) strlen (text) };
  return write_file (path, &d, 0600, err);
}

int
pki_lab_create (const char *lab, const char *params, nslab_error_t *err)
{
  char node_ip[IP_STRLEN], svc_ip[IP_STRLEN], domain[256];
  unsigned port;
  struct in_addr check;
  if (sscanf (params, "%15s %u %15s %255s", node_ip, &port, svc_ip, domain) != 4 || port == 0 || port > 65535
      || inet_pton (AF_INET, node_ip, &check) != 1 || inet_pton (AF_INET, svc_ip, &check) != 1)
    return nslab_error (err, EINVAL, "the lab PKI's parameters \"%s\" are not NODE_IP PORT SERVICE_IP DOMAIN", params);
  const char *ips[] = { node_ip, svc_ip, "127.0.0.1" };
  cleanup_free char *dir = xasprintf ("%s/%s", state_root (), lab);
  cleanup_free char *server = xasprintf ("https://%s:%u", node_ip, port);
  if (pki_create (dir, ips, ARRAY_SIZE (ips), domain, err) < 0)
    return -1;
  return pki_write_kubeconfig (dir, server, err);
}
