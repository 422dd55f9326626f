/* IPv4 addresses and CIDR math. Addresses are kept in host byte order so
 * that arithmetic (network + 1, the n-th address) is plain integer math. */
#ifndef NSLAB_IPADDR_H
#define NSLAB_IPADDR_H

#include <stdbool.h>
#include <stdint.h>

struct cidr {
  uint32_t addr; /* host byte order; for a network, the masked address */
  uint8_t len;
};

#define IP4(a, b, c, d) (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((uint32_t) (c) << 8) | (uint32_t) (d))
#define IP_STRLEN 16
#define CIDR_STRLEN 20

/* Strict dotted-quad: four decimal octets 0-255, no leading zeros, nothing else. */
bool ip_parse (const char *s, uint32_t *out);
/* "a.b.c.d/len"; with require_network, host bits must be zero. */
bool cidr_parse (const char *s, struct cidr *out, bool require_network);
/* Format into buf (at least IP_STRLEN / CIDR_STRLEN bytes); returns buf. */
char *ip_fmt (uint32_t ip, char *buf);
char *cidr_fmt (struct cidr c, char *buf);

uint32_t cidr_mask (uint8_t len);
uint32_t cidr_network (struct cidr c);
uint32_t cidr_broadcast (struct cidr c);
/* Number of addresses, as 64-bit so /0 fits. */
uint64_t cidr_size (struct cidr c);
bool cidr_contains (struct cidr c, uint32_t ip);
bool cidr_overlaps (struct cidr a, struct cidr b);
/* The n-th subnet of length sublen inside c (n from 0). */
struct cidr cidr_subnet (struct cidr c, uint8_t sublen, uint32_t n);

/* Ethernet addresses as ip(8) prints them: "08:00:27:4c:1f:0a". */
#define MAC_STRLEN 18
char *mac_fmt (const uint8_t mac[6], char buf[MAC_STRLEN]);
/* Exactly six colon-separated hex bytes. */
bool mac_parse (const char *s, uint8_t mac[6]);

#endif
