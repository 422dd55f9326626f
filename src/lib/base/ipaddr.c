#include "base/ipaddr.h"

#include <stdio.h>
#include <string.h>

bool
ip_parse (const char *s, uint32_t *out)
{
  uint32_t ip = 0;
  for (int i = 0; i < 4; i++)
    {
      if (*s < '0' || *s > '9')
        return false;
      unsigned v = 0;
      const char *start = s;
      while (*s >= '0' && *s <= '9')
        {
          v = v * 10 + (unsigned) (*s - '0');
          if (v > 255 || s - start >= 3)
            return false;
          s++;
        }
      if (s - start > 1 && *start == '0')
        return false; /* 010 would be octal to inet_aton: refuse it */
      ip = (ip << 8) | v;
      if (i < 3)
        {
          if (*s != '.')
            return false;
          s++;
        }
    }
  if (*s != '\0')
    return false;
  *out = ip;
  return true;
}

bool
cidr_parse (const char *s, struct cidr *out, bool require_network)
{
  const char *slash = strchr (s, '/');
  if (slash == NULL || slash - s >= IP_STRLEN)
    return false;
  char ipbuf[IP_STRLEN];
  memcpy (ipbuf, s, (size_t) (slash - s));
  ipbuf[slash - s] = '\0';
  uint32_t ip;
  if (!ip_parse (ipbuf, &ip))
    return false;
  const char *p = slash + 1;
  if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
    return false;
  unsigned len = 0;
  for (; *p; p++)
    {
      if (*p < '0' || *p > '9')
        return false;
      len = len * 10 + (unsigned) (*p - '0');
      if (len > 32)
        return false;
    }
  if (require_network && (ip & ~cidr_mask ((uint8_t) len)) != 0)
    return false;
  out->addr = ip;
  out->len = (uint8_t) len;
  return true;
}

char *
ip_fmt (uint32_t ip, char *buf)
{
  snprintf (buf, IP_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return buf;
}

char *
cidr_fmt (struct cidr c, char *buf)
{
  char ip[IP_STRLEN];
  snprintf (buf, CIDR_STRLEN, "%s/%u", ip_fmt (c.addr, ip), c.len);
  return buf;
}

uint32_t
cidr_mask (uint8_t len)
{
  return len == 0 ? 0 : (uint32_t) (0xffffffffu << (32 - len));
}

uint32_t
cidr_network (struct cidr c)
{
  return c.addr & cidr_mask (c.len);
}

uint32_t
cidr_broadcast (struct cidr c)
{
  return cidr_network (c) | ~cidr_mask (c.len);
}

uint64_t
cidr_size (struct cidr c)
{
  return (uint64_t) 1 << (32 - c.len);
}

bool
cidr_contains (struct cidr c, uint32_t ip)
{
  return (ip & cidr_mask (c.len)) == cidr_network (c);
}

bool
cidr_overlaps (struct cidr a, struct cidr b)
{
  uint8_t len = a.len < b.len ? a.len : b.len;
  return (a.addr & cidr_mask (len)) == (b.addr & cidr_mask (len));
}

struct cidr
cidr_subnet (struct cidr c, uint8_t sublen, uint32_t n)
{
  struct cidr r;
  r.len = sublen;
  r.addr = cidr_network (c) + (sublen == 0 ? 0 : (uint32_t) ((uint64_t) n << (32 - sublen)));
  return r;
}

char *
mac_fmt (const uint8_t mac[6], char buf[MAC_STRLEN])
{
  snprintf (buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

bool
mac_parse (const char *s, uint8_t mac[6])
{
  unsigned b[6];
  int n = 0;
  if (sscanf (s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &n) != 6
      || n != MAC_STRLEN - 1 || s[n] != '\0')
    return false;
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t) b[i];
  return true;
}
