/* libFuzzer entry for the cluster DNS server's query parser: the input is a
 * DNS message as a pod would send it, over UDP (odd first byte) or TCP.
 * Whatever comes back must be a DNS message ldns reads, answering the
 * query's ID, with QR set. */
#include <ldns/ldns.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ipaddr.h"
#include "dns/kubernetes_plugin.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static struct dns_port ports[] = { { "http", "tcp", 80, 8080 }, { NULL, "udp", 53, 53 } };
static uint32_t eps[] = { IP4 (10, 42, 0, 2), IP4 (10, 42, 1, 2), IP4 (10, 42, 2, 7) };
static struct dns_service services[] = {
  { "demo", "web-svc", IP4 (10, 43, 51, 194), ports, 2, eps, 3 },
  { "demo", "web-headless", 0, ports, 2, eps, 3 },
};
static struct dns_pod pods[] = { { "demo", IP4 (10, 42, 0, 2) }, { "default", IP4 (10, 42, 1, 9) } };
static struct dns_view view = { "cluster.local", 7, services, 2, pods, 2 };

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  uint8_t *out = NULL;
  size_t len = 0;
  bool tcp = size > 0 && (data[0] & 1) == 0;
  if (dns_answer (&view, data, size, tcp, &out, &len) < 0)
    return 0;
  ldns_pkt *p = NULL;
  if (len < 12 || out[0] != data[0] || out[1] != data[1] || !(out[2] & 0x80)
      || ldns_wire2pkt (&p, out, len) != LDNS_STATUS_OK)
    abort ();
  if (!tcp && len > DNS_EDNS_SIZE)
    abort ();
  ldns_pkt_free (p);
  free (out);
  return 0;
}
