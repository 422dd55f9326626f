/* The app's listening socket (see appsock.h). */
#include "runtime/appsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"

int
appsock_listen (uint16_t port, int *fd_out, nslab_error_t *err)
{
  int one = 1, zero = 0;
  cleanup_close int fd = socket (AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0)
    {
      /* One dual-stack socket, as most servers in pods listen: ss shows *:PORT. */
      struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons (port),
                                 .sin6_addr = IN6ADDR_ANY_INIT };
      if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
          || setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0)
        return nslab_error (err, errno, "setsockopt on the listening socket");
      if (bind (fd, (struct sockaddr *) &a6, sizeof a6) < 0)
        return nslab_error (err, errno, "bind to port %u", port);
    }
  else if (errno == EAFNOSUPPORT)
    {
      fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0)
        return nslab_error (err, errno, "socket");
      struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons (port),
                                .sin_addr.s_addr = htonl (INADDR_ANY) };
      if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return nslab_error (err, errno, "setsockopt on the listening socket");
      if (bind (fd, (struct sockaddr *) &a4, sizeof a4) < 0)
        return nslab_error (err, errno, "bind to port %u", port);
    }
  else
    return nslab_error (err, errno, "socket");
  if (listen (fd, 1024) < 0)
    return nslab_error (err, errno, "listen on port %u", port);
  *fd_out = fd;
  fd = -1;
  return 0;
}
