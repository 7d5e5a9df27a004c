/*
 * The kernel's end of the over-TAP UDP rows (bench/over-tap.ts), built at bench time with the
 * machine's gcc (bench/udp-blast.ts): a UDP sender and sink on kernel sockets that move datagrams
 * in batches of 64 (sendmmsg / recvmmsg), so that the rows measure the stacks, not the tool. The
 * same binary is used against the stack and for the kernel to kernel reference over veth.
 *
 *   udp-blast send HOST PORT SIZE SECONDS   SIZE-byte datagrams as fast as the socket takes them;
 *                                           prints {"sent": N, "seconds": S}
 *   udp-blast sink ADDR PORT                counts datagrams from the first to the last, stops once
 *                                           none came for a second; prints "ready" once bound,
 *                                           then {"received": N, "timed": T, "seconds": S}
 *                                           (T: those after the first batch, which started the clock)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SIZE 65536

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static struct sockaddr_in address(const char *host, const char *port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "udp-blast: bad address %s\n", host);
    exit(2);
  }
  return a;
}

static int udp_socket(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) {
    perror("udp-blast: socket");
    exit(1);
  }
  return s;
}

static int blast(const char *host, const char *port, int size, double seconds) {
  static char data[MAX_SIZE];
  struct sockaddr_in to = address(host, port);
  int s = udp_socket();
  if (connect(s, (struct sockaddr *)&to, sizeof to) < 0) {
    perror("udp-blast: connect");
    return 1;
  }
  struct iovec iov = {data, (size_t)size};
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long long sent = 0;
  double t0 = now(), end = t0 + seconds, t = t0;
  while (t < end) {
    int n = sendmmsg(s, msgs, BATCH, 0);
    // ENOBUFS, or ECONNREFUSED from an ICMP error: that batch was not sent.
    if (n > 0) sent += n;
    else if (n < 0 && errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN) {
      perror("udp-blast: sendmmsg");
      return 1;
    }
    t = now();
  }
  printf("{\"sent\": %lld, \"seconds\": %f}\n", sent, t - t0);
  return 0;
}

static int sink(const char *addr, const char *port) {
  static char bufs[BATCH][2048];
  struct sockaddr_in at = address(addr, port);
  int s = udp_socket();
  int rcvbuf = 4 << 20;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(s, (struct sockaddr *)&at, sizeof at) < 0) {
    perror("udp-blast: bind");
    return 1;
  }
  struct iovec iovs[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iovs[i].iov_base = bufs[i];
    iovs[i].iov_len = sizeof bufs[i];
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  printf("ready\n");
  fflush(stdout);
  // The first batch waits as long as it takes; then a second without a datagram ends the count.
  long long received = 0;
  double first = 0, last = 0;
  int n = recvmmsg(s, msgs, BATCH, MSG_WAITFORONE, NULL);
  if (n < 0) {
    perror("udp-blast: recvmmsg");
    return 1;
  }
  long long before_first = n;
  received = n;
  first = last = now();
  struct timeval second = {1, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &second, sizeof second);
  for (;;) {
    n = recvmmsg(s, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    received += n;
    last = now();
  }
  // `timed`: the datagrams that came after the clock started (the first batch's came before).
  printf("{\"received\": %lld, \"timed\": %lld, \"seconds\": %f}\n", received, received - before_first,
         last - first);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "send") == 0) {
    int size = atoi(argv[4]);
    if (size < 0 || size > MAX_SIZE) {
      fprintf(stderr, "udp-blast: bad size %s\n", argv[4]);
      return 2;
    }
    return blast(argv[2], argv[3], size, atof(argv[5]));
  }
  if (argc == 4 && strcmp(argv[1], "sink") == 0) return sink(argv[2], argv[3]);
  fprintf(stderr, "usage: udp-blast send HOST PORT SIZE SECONDS | udp-blast sink ADDR PORT\n");
  return 2;
}
