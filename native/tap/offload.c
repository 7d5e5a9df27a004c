/* Checksum and segmentation offloads of the TAP addon; see offload.h. */
#include "offload.h"

#include <string.h>

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/*
 * The ones' complement sum (RFC 1071) of `n` bytes, in the host's byte order: summing the bytes as
 * native 16-bit words gives the byte-swapped sum on a little-endian host, and storing the result back
 * with memcpy undoes the swap (RFC 1071 2(B): the sum does not depend on byte order). `sum` carries
 * a partial sum in.
 */
static uint64_t add_bytes(uint64_t sum, const uint8_t *p, size_t n) {
  /* 32-bit words into a 64-bit accumulator: no overflow for anything a frame holds. */
  for (; n >= 4; p += 4, n -= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    sum += w;
  }
  if (n >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    /* The last byte is the high-order byte of a big-endian word padded with zero. */
    uint16_t w = 0;
    memcpy(&w, p, 1);
    sum += w;
  }
  return sum;
}

static uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/*
 * The kernel's CHECKSUM_PARTIAL contract: the checksum field holds the pseudo-header sum, and the
 * complement of the sum from csum_start to the end of the frame goes to csum_start + csum_offset.
 * The header's fields are in the host's byte order (TUNSETVNETLE/BE are not used).
 */
int offload_finish_checksum(uint8_t *buf, size_t len, size_t header_len) {
  struct virtio_net_hdr h;
  if (len < header_len || header_len < sizeof h) return -1;
  memcpy(&h, buf, sizeof h);
  if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) return 0;
  uint8_t *frame = buf + header_len;
  size_t frame_len = len - header_len;
  size_t start = h.csum_start, field = (size_t)h.csum_start + h.csum_offset;
  if (field + 2 > frame_len) return -1;
  uint16_t sum = (uint16_t)~fold(add_bytes(0, frame + start, frame_len - start));
  /* A zero result goes as all ones (RFC 768: zero means "no checksum" for UDP; the same value in
     ones' complement for TCP). */
  if (sum == 0) sum = 0xffff;
  memcpy(frame + field, &sum, 2);
  return 0;
}

#define TCP_ACK 0x10
#define TCP_PSH 0x08

int offload_parse_tcp(const uint8_t *f, size_t len, int ethernet, TcpSegment *out) {
  size_t l3 = 0, l4;
  int v6;
  if (ethernet) {
    if (len < 14) return 0;
    uint16_t type = be16(f + 12);
    if (type != 0x0800 && type != 0x86dd) return 0;
    v6 = type == 0x86dd;
    l3 = 14;
  } else {
    if (len < 1) return 0;
    v6 = f[0] >> 4 == 6;
  }
  if (!v6) {
    /* Version 4, no options, TCP, no fragment (MF clear, offset 0), no Ethernet padding. */
    if (len < l3 + 20 || f[l3] != 0x45 || f[l3 + 9] != 6) return 0;
    if ((be16(f + l3 + 6) & 0x3fff) != 0 || l3 + be16(f + l3 + 2) != len) return 0;
    l4 = l3 + 20;
  } else {
    /* Version 6, TCP as the next header (no extension header), no padding. */
    if (len < l3 + 40 || f[l3] >> 4 != 6 || f[l3 + 6] != 6) return 0;
    if (l3 + 40 + be16(f + l3 + 4) != len) return 0;
    l4 = l3 + 40;
  }
  if (len < l4 + 20) return 0;
  size_t tcp_len = (size_t)(f[l4 + 12] >> 4) * 4;
  /* No reserved or AE bit, ACK and maybe PSH (no SYN, FIN, RST, URG, ECE, CWR), and data. */
  if (tcp_len < 20 || (f[l4 + 12] & 0x0f) != 0 || (f[l4 + 13] & ~TCP_PSH) != TCP_ACK) return 0;
  if (l4 + tcp_len >= len) return 0;
  out->data = f;
  out->len = len;
  out->l3 = l3;
  out->l4 = l4;
  out->payload = l4 + tcp_len;
  out->v6 = v6;
  out->seq = be32(f + l4 + 4);
  out->flags = f[l4 + 13];
  return 1;
}

int offload_continues(const TcpSegment *first, size_t payload, uint32_t next_seq, const TcpSegment *s) {
  const uint8_t *a = first->data, *b = s->data;
  size_t l3 = first->l3, l4 = first->l4;
  size_t mss = first->len - first->payload, size = s->len - s->payload;
  if (s->v6 != first->v6 || s->l3 != l3 || s->payload != first->payload || s->seq != next_seq) return 0;
  /* Every segment but the last carries gso_size (the first's size) octets; IP lengths are 16 bits. */
  if (size > mss || first->payload - l3 + payload + size > 65535) return 0;
  /* The same link header, the same IP header but for length, ID and checksum ... */
  if (memcmp(a, b, l3) != 0) return 0;
  if (first->v6) {
    if (memcmp(a + l3, b + l3, 4) != 0 || a[l3 + 7] != b[l3 + 7] || memcmp(a + l3 + 8, b + l3 + 8, 32) != 0)
      return 0;
  } else if (a[l3 + 1] != b[l3 + 1] || a[l3 + 6] != b[l3 + 6] || a[l3 + 8] != b[l3 + 8] ||
             memcmp(a + l3 + 12, b + l3 + 12, 8) != 0) {
    return 0;
  }
  /* ... and the same TCP header but for sequence number, PSH and checksum: ports, ACK, header
     length, window, urgent pointer and options (timestamps included). */
  return memcmp(a + l4, b + l4, 4) == 0 && memcmp(a + l4 + 8, b + l4 + 8, 5) == 0 &&
         memcmp(a + l4 + 14, b + l4 + 14, 2) == 0 && memcmp(a + l4 + 18, b + l4 + 18, first->payload - l4 - 18) == 0;
}

void offload_super_headers(const TcpSegment *first, const TcpSegment *last, size_t payload,
                           struct virtio_net_hdr_mrg_rxbuf *vnet, uint8_t *h) {
  size_t l3 = first->l3, l4 = first->l4, tcp_len = first->payload - l4 + payload;
  memcpy(h, first->data, first->payload);
  uint64_t pseudo;
  if (first->v6) {
    put_be16(h + l3 + 4, (uint16_t)tcp_len);
    /* RFC 8200 8.1: addresses, upper-layer length (32 bits), next header. */
    uint8_t tail[8] = {0, 0, (uint8_t)(tcp_len >> 8), (uint8_t)tcp_len, 0, 0, 0, 6};
    pseudo = add_bytes(add_bytes(0, h + l3 + 8, 32), tail, 8);
  } else {
    put_be16(h + l3 + 2, (uint16_t)(l4 - l3 + tcp_len));
    /* The IPv4 header checksum (RFC 791) over the new length. */
    h[l3 + 10] = h[l3 + 11] = 0;
    uint16_t ip_sum = (uint16_t)~fold(add_bytes(0, h + l3, 20));
    memcpy(h + l3 + 10, &ip_sum, 2);
    /* RFC 9293 3.1: addresses, zero, protocol, TCP length. */
    uint8_t tail[4] = {0, 6, (uint8_t)(tcp_len >> 8), (uint8_t)tcp_len};
    pseudo = add_bytes(add_bytes(0, h + l3 + 12, 8), tail, 4);
  }
  /* PSH as the last segment had it. */
  h[l4 + 13] = last->flags;
  /* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, not complemented; the kernel (or the
     segmentation it does) adds the rest. */
  uint16_t partial = fold(pseudo);
  memcpy(h + l4 + 16, &partial, 2);
  memset(vnet, 0, sizeof *vnet);
  vnet->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vnet->hdr.gso_type = first->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
  vnet->hdr.hdr_len = (uint16_t)first->payload;
  vnet->hdr.gso_size = (uint16_t)(first->len - first->payload);
  vnet->hdr.csum_start = (uint16_t)l4;
  vnet->hdr.csum_offset = 16;
}
