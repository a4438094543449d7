/*
 * The floor of any user-space hop, for bench/gateway.ts: a single-threaded epoll TCP byte pipe.
 * Listens on 127.0.0.1:<listen-port> (0: any; the port is printed as "READY <port>"), and for
 * each client connects to 127.0.0.1:<target-port> and copies bytes both ways unchanged
 * (TCP_NODELAY, one write per read). No parsing: the WebSocket handshake and frames pass
 * through, so a CDP client talks to Chromium through it exactly as it would directly.
 *
 *   cc -O2 -o pipe bench/lib/pipe.c && ./pipe <target-port> [listen-port]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
static int peer[MAX_FDS];

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void close_pair(int ep, int fd) {
  int other = peer[fd];
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  peer[fd] = -1;
  if (other >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, other, NULL);
    close(other);
    peer[other] = -1;
  }
}

/* Blocking writes on a blocking socket: fine for a benchmark whose replies the client reads. */
static int write_all(int fd, const char *buf, ssize_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, (size_t)len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= n;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <target-port> [listen-port]\n", argv[0]);
    return 2;
  }
  int target = atoi(argv[1]);
  int listen_port = argc > 2 ? atoi(argv[2]) : 0;
  for (int i = 0; i < MAX_FDS; i++) peer[i] = -1;

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(listen_port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 128) < 0) {
    perror("listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(ls, (struct sockaddr *)&addr, &alen);
  printf("READY %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  static char buf[1 << 16];
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == ls) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) continue;
        int u = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(target)};
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (c >= MAX_FDS || u < 0 || u >= MAX_FDS || connect(u, (struct sockaddr *)&to, sizeof to) < 0) {
          close(c);
          if (u >= 0) close(u);
          continue;
        }
        nodelay(c);
        nodelay(u);
        peer[c] = u;
        peer[u] = c;
        struct epoll_event ec = {.events = EPOLLIN, .data.fd = c};
        struct epoll_event eu = {.events = EPOLLIN, .data.fd = u};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ec);
        epoll_ctl(ep, EPOLL_CTL_ADD, u, &eu);
        continue;
      }
      if (peer[fd] < 0) continue;
      ssize_t got = read(fd, buf, sizeof buf);
      if (got <= 0 || write_all(peer[fd], buf, got) < 0) close_pair(ep, fd);
    }
  }
}
