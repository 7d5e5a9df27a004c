/*
 * Checksum and segmentation offloads of the TAP addon (offload.c): completing the partial checksums
 * the kernel sends, and coalescing the stack's consecutive TCP segments into GSO super-frames that
 * the kernel takes as one packet and segments itself when it must.
 */
#ifndef NETSTACK_TAP_OFFLOAD_H
#define NETSTACK_TAP_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Most segments one super-frame takes (its IP length stays within 65535 octets too). */
#define GSO_MAX_SEGMENTS 64
/* Ethernet + IPv6 + the largest TCP header. */
#define GSO_MAX_HEADERS (14 + 40 + 60)

/*
 * Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) of the frame that follows the
 * `header_len`-byte virtio-net header in `buf` (`len` bytes in all). Returns -1 when the header's
 * offsets point outside the frame, else 0 (also when there was nothing to complete).
 */
int offload_finish_checksum(uint8_t *buf, size_t len, size_t header_len);

/* A frame that is a plain TCP data segment (see offload_parse_tcp). */
typedef struct {
  const uint8_t *data;
  size_t len;
  /* Offsets of the IP header, the TCP header and the payload. */
  size_t l3, l4, payload;
  int v6;
  uint32_t seq;
  uint8_t flags;
} TcpSegment;

/*
 * Whether frame `data` (Ethernet when `ethernet`, else a bare IP packet) may join a super-frame: an
 * unfragmented IPv4 packet without options or an IPv6 packet without extension headers, holding one
 * TCP segment with data whose only flags are ACK and maybe PSH. Fills `out` when it may (returns 1).
 */
int offload_parse_tcp(const uint8_t *data, size_t len, int ethernet, TcpSegment *out);

/* Whether `next` continues the super-frame that starts with `first` and has `payload` octets so far. */
int offload_continues(const TcpSegment *first, size_t payload, uint32_t next_seq, const TcpSegment *next);

/*
 * Builds the virtio-net header and the headers of a super-frame from its first and last segments
 * and its total payload (`headers` gets first->payload octets); the caller writes `vnet`, `headers`
 * and the payloads of the segments in order.
 */
void offload_super_headers(const TcpSegment *first, const TcpSegment *last, size_t payload,
                           struct virtio_net_hdr_mrg_rxbuf *vnet, uint8_t *headers);

#endif
