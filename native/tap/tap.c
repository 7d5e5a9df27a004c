/*
 * netstack_tap: the smallest native surface needed to run a userspace stack on a Linux TAP or TUN
 * device. It opens /dev/net/tun, configures the device with ioctl(2), watches the non-blocking
 * descriptor with a uv_poll_t on Node's own event loop, drains readable frames in batches into one
 * ArrayBuffer that JavaScript owns (one callback per batch), and writes batches of frames.
 *
 * Receive buffer layout: JavaScript passes an ArrayBuffer and an Int32Array of `slots` lengths. The
 * frames of a batch are packed one after the other from the start of the buffer: frame i is read
 * into the bytes that follow frame i - 1, its length in lengths[i], and the batch callback gets the
 * count. Each read is offered `maxFrame + 1` bytes (the largest frame the device can deliver, plus
 * one), and the batch ends when fewer than that are left: a read that fills all it was offered was
 * truncated by the kernel and is dropped (counted). With IFF_VNET_HDR every frame starts with the
 * virtio-net header the kernel writes in front of it. The buffer is reused by the next batch, so the
 * views JavaScript makes are valid only during the callback.
 *
 * Checksum offload on receive (TUN_F_CSUM): the kernel may hand over a frame whose transport
 * checksum is partial (VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum field holds the pseudo-header sum,
 * the sum from csum_start to the end of the frame goes to csum_start + csum_offset). The addon
 * completes it here, in C, so every frame JavaScript sees carries a valid checksum (a capture shows
 * it right, a forwarded frame leaves right). With TSO (TUN_F_TSO4/6) a frame may be a GSO
 * super-frame of up to 64 KiB: one TCP segment larger than the MTU, its checksum completed like any
 * other (the pseudo-header sum the kernel wrote covers the whole super-frame).
 *
 * Errors are thrown as JavaScript errors with a Node-style `code` ("EPERM", "EBUSY", ...).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include "offload.h"

/* A failed N-API call (usually an argument of the wrong type) throws EINVAL unless it threw already. */
#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return throw_bad_call(env);                                             \
  } while (0)

static napi_value throw_bad_call(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "EINVAL", "invalid argument to the tap addon");
  return NULL;
}

/* Throws an Error whose code is the errno name (libuv's names match Node's). */
static napi_value throw_errno(napi_env env, int err, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, uv_err_name(-err), message);
  return NULL;
}

static napi_value throw_code(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

/* An attached device: the descriptor, its poll handle and the JavaScript receive buffer. */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int vnet_hdr_size;
  /* The receive buffer (an ArrayBuffer), its size, and the frame lengths (an Int32Array). */
  uint8_t *rx_data;
  size_t rx_size;
  int32_t *rx_lengths;
  /* The largest frame a read may return, virtio-net header included. */
  size_t max_frame;
  uint32_t slots;
  /* Frames dropped since the last callback: cut short by the kernel (larger than max_frame), and
     with a virtio-net header whose checksum offsets point outside the frame. */
  uint32_t oversized;
  uint32_t bad_header;
  /* Ethernet frames (TAP) rather than bare IP packets (TUN). */
  int ethernet;
  /* Consecutive TCP segments of a written batch go as one GSO super-frame (needs the header). */
  int tx_gso;
  napi_ref rx_buffer_ref;
  napi_ref rx_lengths_ref;
  napi_ref on_batch_ref;
  napi_ref on_error_ref;
  napi_async_context async_context;
  /* closed: close() ran (descriptor closed, uv_close requested). */
  int closed;
  /* Both must be true before the struct is freed. */
  int uv_closed;
  int wrapper_gone;
} Device;

static void device_maybe_free(Device *d) {
  if (d->uv_closed && d->wrapper_gone) free(d);
}

static void on_uv_closed(uv_handle_t *handle) {
  Device *d = (Device *)handle->data;
  d->uv_closed = 1;
  device_maybe_free(d);
}

static void device_release_js(Device *d) {
  napi_env env = d->env;
  if (d->rx_buffer_ref) napi_delete_reference(env, d->rx_buffer_ref);
  if (d->rx_lengths_ref) napi_delete_reference(env, d->rx_lengths_ref);
  if (d->on_batch_ref) napi_delete_reference(env, d->on_batch_ref);
  if (d->on_error_ref) napi_delete_reference(env, d->on_error_ref);
  if (d->async_context) napi_async_destroy(env, d->async_context);
  d->rx_buffer_ref = d->rx_lengths_ref = d->on_batch_ref = d->on_error_ref = NULL;
  d->async_context = NULL;
}

static void cleanup_hook(void *arg);

/* Stops polling and closes the descriptor; the struct lives until libuv and the GC let go of it. */
static void device_close(Device *d, int release_js) {
  if (d->closed) return;
  d->closed = 1;
  napi_remove_env_cleanup_hook(d->env, cleanup_hook, d);
  uv_poll_stop(&d->poll);
  uv_close((uv_handle_t *)&d->poll, on_uv_closed);
  close(d->fd);
  d->fd = -1;
  d->rx_data = NULL;
  d->rx_lengths = NULL;
  if (release_js) device_release_js(d);
}

/* The environment is going away (process exit, worker end): close without touching JavaScript. */
static void cleanup_hook(void *arg) {
  Device *d = (Device *)arg;
  d->rx_buffer_ref = d->rx_lengths_ref = d->on_batch_ref = d->on_error_ref = NULL;
  d->async_context = NULL;
  device_close(d, 0);
}

static void on_wrapper_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Device *d = (Device *)data;
  if (!d->closed) device_close(d, 1);
  d->wrapper_gone = 1;
  device_maybe_free(d);
}

/* Calls `fn` with `argc` arguments inside the device's async context; a throw becomes uncaught. */
static void call_js(Device *d, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = d->env;
  napi_value fn, global, result;
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok) return;
  napi_get_global(env, &global);
  if (napi_make_callback(env, d->async_context, global, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

static void report_error(Device *d, int err, const char *what) {
  napi_env env = d->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  call_js(d, d->on_error_ref, 1, &error);
  napi_close_handle_scope(env, scope);
}

/* Readable: drain up to `slots` frames (or until EAGAIN) and hand them over as one batch. */
static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  Device *d = (Device *)handle->data;
  if (d->closed) return;
  if (status < 0) {
    uv_poll_stop(&d->poll);
    report_error(d, -status, "poll");
    return;
  }
  uint32_t count = 0;
  size_t offset = 0;
  int fatal = 0;
  /* Reads at most `slots` times, so a flood of oversized frames cannot hold the loop either. */
  for (uint32_t reads = 0; reads < d->slots && d->rx_size - offset > d->max_frame; reads++) {
    uint8_t *frame = d->rx_data + offset;
    ssize_t n = read(d->fd, frame, d->max_frame + 1);
    if (n > 0 && (size_t)n <= d->max_frame) {
      if (d->vnet_hdr_size > 0 && offload_finish_checksum(frame, (size_t)n, (size_t)d->vnet_hdr_size) < 0) {
        d->bad_header++;
        continue;
      }
      d->rx_lengths[count++] = (int32_t)n;
      offset += (size_t)n;
      continue;
    }
    if (n > 0) {
      /* The kernel truncates a frame to the buffer it is given: it was larger than max_frame. */
      d->oversized++;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) fatal = errno;
    break;
  }
  if (count > 0 || d->oversized > 0 || d->bad_header > 0) {
    napi_handle_scope scope;
    napi_open_handle_scope(d->env, &scope);
    napi_value args[3];
    napi_create_uint32(d->env, count, &args[0]);
    napi_create_uint32(d->env, d->oversized, &args[1]);
    napi_create_uint32(d->env, d->bad_header, &args[2]);
    d->oversized = 0;
    d->bad_header = 0;
    call_js(d, d->on_batch_ref, 3, args);
    napi_close_handle_scope(d->env, scope);
  }
  /* The batch callback may have closed the device. */
  if (fatal != 0 && !d->closed) {
    /* EBADFD/EIO: the device is gone (for example its namespace was deleted). */
    uv_poll_stop(&d->poll);
    report_error(d, fatal, "read");
  }
}

static int get_string(napi_env env, napi_value value, char *out, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, out, size, &len) != napi_ok) return -1;
  return (int)len;
}

static Device *get_device(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_unwrap(env, value, &data) != napi_ok || data == NULL) {
    throw_code(env, "EINVAL", "not a tap device handle");
    return NULL;
  }
  return (Device *)data;
}

/*
 * open(name: string, tap: boolean, vnetHdrSize: number) -> { fd, name }
 * An empty name lets the kernel choose (tap%d / tun%d). vnetHdrSize 0 disables IFF_VNET_HDR;
 * otherwise 10 (virtio_net_hdr) or 12 (virtio_net_hdr_mrg_rxbuf, the virtio 1.0 layout).
 */
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_code(env, "EINVAL", "open(name, tap, vnetHdrSize)");
  char name[IFNAMSIZ + 1];
  int len = get_string(env, argv[0], name, sizeof name);
  if (len < 0) return throw_code(env, "EINVAL", "device name must be a string");
  if (len >= IFNAMSIZ) return throw_code(env, "EINVAL", "device name longer than 15 bytes");
  bool tap;
  int32_t vnet;
  CHECK(napi_get_value_bool(env, argv[1], &tap));
  CHECK(napi_get_value_int32(env, argv[2], &vnet));
  if (vnet != 0 && vnet != (int32_t)sizeof(struct virtio_net_hdr) &&
      vnet != (int32_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))
    return throw_code(env, "EINVAL", "vnetHdrSize must be 0, 10 or 12");

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
  memcpy(ifr.ifr_name, name, (size_t)len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "TUNSETIFF");
  }
  if (vnet && ioctl(fd, TUNSETVNETHDRSZ, &vnet) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "TUNSETVNETHDRSZ");
  }
  napi_value result, fd_value, name_value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, fd, &fd_value));
  CHECK(napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &name_value));
  CHECK(napi_set_named_property(env, result, "fd", fd_value));
  CHECK(napi_set_named_property(env, result, "name", name_value));
  return result;
}

/* closeFd(fd): closes a descriptor from open() that was never attached. */
static napi_value CloseFd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

/* setOffload(fd, flags): TUNSETOFFLOAD with TUN_F_* flags (needs IFF_VNET_HDR to be useful). */
static napi_value SetOffload(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  uint32_t flags;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_uint32(env, argv[1], &flags));
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0) return throw_errno(env, errno, "TUNSETOFFLOAD");
  return NULL;
}

/*
 * setLink(name, mtu, up): sets the kernel side's MTU (SIOCSIFMTU, skipped when mtu is 0) and, when
 * up is true, raises IFF_UP (SIOCSIFFLAGS). Works on devices in the caller's network namespace.
 */
static napi_value SetLink(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  int len = get_string(env, argv[0], name, sizeof name);
  if (len < 0 || len >= IFNAMSIZ) return throw_code(env, "EINVAL", "bad device name");
  int32_t mtu;
  bool up;
  CHECK(napi_get_value_int32(env, argv[1], &mtu));
  CHECK(napi_get_value_bool(env, argv[2], &up));
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throw_errno(env, errno, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, (size_t)len);
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) {
      int err = errno;
      close(sock);
      return throw_errno(env, err, "SIOCSIFMTU");
    }
  }
  if (up) {
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0 ||
        (ifr.ifr_flags |= IFF_UP, ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)) {
      int err = errno;
      close(sock);
      return throw_errno(env, err, "SIOCSIFFLAGS");
    }
  }
  close(sock);
  return NULL;
}

/*
 * attach(fd, vnetHdrSize, rxBuffer: ArrayBuffer, maxFrame, rxLengths: Int32Array,
 *        onBatch(count, oversized, badHeader), onError(err), ethernet: boolean, txGso: boolean)
 *   -> handle
 * Takes ownership of fd (closing it if attach fails) and polls it for readability on the current
 * event loop.
 */
static napi_value attach_owned(napi_env env, int fd, napi_value *argv);

static napi_value Attach(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) return throw_code(env, "EINVAL", "attach needs 9 arguments");
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  napi_value handle = attach_owned(env, fd, argv);
  if (handle == NULL) close(fd);
  return handle;
}

/* attach() once fd is known: returns NULL (an exception pending) when it did not take fd over. */
static napi_value attach_owned(napi_env env, int fd, napi_value *argv) {
  int32_t vnet, max_frame;
  bool ethernet, tx_gso;
  CHECK(napi_get_value_bool(env, argv[7], &ethernet));
  CHECK(napi_get_value_bool(env, argv[8], &tx_gso));
  CHECK(napi_get_value_int32(env, argv[1], &vnet));
  CHECK(napi_get_value_int32(env, argv[3], &max_frame));
  void *data;
  size_t byte_length;
  bool is_ab;
  CHECK(napi_is_arraybuffer(env, argv[2], &is_ab));
  if (!is_ab) return throw_code(env, "EINVAL", "rxBuffer must be an ArrayBuffer");
  CHECK(napi_get_arraybuffer_info(env, argv[2], &data, &byte_length));
  napi_typedarray_type type;
  size_t length;
  void *lengths;
  bool is_ta;
  CHECK(napi_is_typedarray(env, argv[4], &is_ta));
  if (!is_ta) return throw_code(env, "EINVAL", "rxLengths must be an Int32Array");
  CHECK(napi_get_typedarray_info(env, argv[4], &type, &length, &lengths, NULL, NULL));
  if (type != napi_int32_array || length == 0) return throw_code(env, "EINVAL", "rxLengths must be an Int32Array");
  if (tx_gso && vnet == 0) return throw_code(env, "EINVAL", "txGso needs the virtio-net header");
  if (max_frame <= vnet || (size_t)max_frame >= byte_length)
    return throw_code(env, "EINVAL", "rxBuffer must be larger than maxFrame, maxFrame larger than the header");

  Device *d = calloc(1, sizeof *d);
  if (d == NULL) return throw_errno(env, ENOMEM, "attach");
  d->env = env;
  d->fd = fd;
  d->vnet_hdr_size = vnet;
  d->rx_data = data;
  d->rx_lengths = lengths;
  d->rx_size = byte_length;
  d->ethernet = ethernet;
  d->tx_gso = tx_gso;
  d->max_frame = (size_t)max_frame;
  d->slots = (uint32_t)length;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(d);
    return throw_code(env, "EINVAL", "no event loop");
  }
  int rc = uv_poll_init(loop, &d->poll, fd);
  if (rc < 0) {
    free(d);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  d->poll.data = d;
  napi_value handle, resource_name;
  if (napi_create_object(env, &handle) != napi_ok || napi_wrap(env, handle, d, on_wrapper_finalized, NULL, NULL) != napi_ok) {
    /* Nothing owns d yet: close the poll handle and let on_uv_closed free it. */
    d->wrapper_gone = 1;
    uv_close((uv_handle_t *)&d->poll, on_uv_closed);
    return throw_code(env, "ENOMEM", "cannot create the device handle");
  }
  /* From here on d owns fd: device_close closes it. */
  napi_create_reference(env, argv[2], 1, &d->rx_buffer_ref);
  napi_create_reference(env, argv[4], 1, &d->rx_lengths_ref);
  napi_create_reference(env, argv[5], 1, &d->on_batch_ref);
  napi_create_reference(env, argv[6], 1, &d->on_error_ref);
  napi_create_string_utf8(env, "NetstackTap", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &d->async_context);
  napi_add_env_cleanup_hook(env, cleanup_hook, d);
  rc = uv_poll_start(&d->poll, UV_READABLE, on_poll);
  if (rc < 0) {
    device_close(d, 1);
    /* fd is closed already: return the (dead) handle so Attach does not close it twice; the
       exception is pending, so JavaScript sees the throw. */
    throw_errno(env, -rc, "uv_poll_start");
  }
  return handle;
}

/* Writes `iovcnt` buffers as one frame; returns 1 when the kernel took it, 0 when it refused it,
   -1 at EAGAIN (its queue is full). */
static int write_frame(Device *d, struct iovec *iov, int iovcnt) {
  ssize_t n;
  do n = writev(d->fd, iov, iovcnt);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return 1;
  return errno == EAGAIN ? -1 : 0;
}

/* A run of segments that goes as one super-frame (or, one segment alone, as it is). */
typedef struct {
  TcpSegment first, last;
  struct iovec payloads[GSO_MAX_SEGMENTS];
  uint32_t count;
  size_t payload;
  /* The run ended: its last segment was short of gso_size or had PSH. */
  int closed;
} Run;

/* Writes a run; returns how many of its frames the kernel took (all or none), or -1 at EAGAIN. */
static int write_run(Device *d, Run *r) {
  static const struct virtio_net_hdr_mrg_rxbuf zero;
  if (r->count == 1) {
    struct iovec iov[2] = {{(void *)&zero, (size_t)d->vnet_hdr_size}, {(void *)r->first.data, r->first.len}};
    return write_frame(d, iov, 2);
  }
  struct virtio_net_hdr_mrg_rxbuf vnet;
  uint8_t headers[GSO_MAX_HEADERS];
  offload_super_headers(&r->first, &r->last, r->payload, &vnet, headers);
  struct iovec iov[GSO_MAX_SEGMENTS + 2];
  iov[0] = (struct iovec){&vnet, (size_t)d->vnet_hdr_size};
  iov[1] = (struct iovec){headers, r->first.payload};
  memcpy(iov + 2, r->payloads, r->count * sizeof(struct iovec));
  int rc = write_frame(d, iov, (int)r->count + 2);
  return rc <= 0 ? rc : (int)r->count;
}

/*
 * write(handle, frames: Uint8Array[]) -> number of frames the kernel took.
 * Never blocks and never throws for a frame: it stops at EAGAIN (the device's queue is full) and skips
 * a frame the kernel refuses (EINVAL, EMSGSIZE, EIO); the caller counts the difference as drops. With
 * a vnet header, each frame goes out after a zeroed header (its checksums are complete). With txGso,
 * consecutive TCP data segments of one connection (offload_continues says which) go as one GSO
 * super-frame, like TSO: one writev of a virtio-net header asking for TCP segmentation
 * (gso_size = the first segment's payload, partial checksum), the first segment's headers with the
 * total length, and every segment's payload in place (no copy). The kernel takes it as one packet
 * (a local socket as one GRO-sized segment) and segments it only if it forwards it to a link that
 * needs it. A run that the kernel refuses counts all its frames as refused.
 */
static napi_value Write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  if (d->closed) return throw_code(env, "EBADF", "tap device is closed");
  uint32_t count;
  if (napi_get_array_length(env, argv[1], &count) != napi_ok)
    return throw_code(env, "EINVAL", "frames must be an array of Uint8Array");
  static const struct virtio_net_hdr_mrg_rxbuf zero;
  uint32_t sent = 0;
  Run run;
  run.count = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    napi_typedarray_type type;
    size_t length;
    void *data;
    bool is_ta = false;
    CHECK(napi_get_element(env, argv[1], i, &element));
    napi_is_typedarray(env, element, &is_ta);
    if (!is_ta) return throw_code(env, "EINVAL", "frames must be an array of Uint8Array");
    CHECK(napi_get_typedarray_info(env, element, &type, &length, &data, NULL, NULL));
    if (type != napi_uint8_array) return throw_code(env, "EINVAL", "frames must be an array of Uint8Array");
    TcpSegment seg;
    int tcp = d->tx_gso && offload_parse_tcp(data, length, d->ethernet, &seg);
    if (run.count > 0 && tcp && !run.closed && run.count < GSO_MAX_SEGMENTS &&
        offload_continues(&run.first, run.payload, run.first.seq + (uint32_t)run.payload, &seg)) {
      run.last = seg;
    } else {
      if (run.count > 0) {
        int rc = write_run(d, &run);
        run.count = 0;
        if (rc < 0) break;
        sent += (uint32_t)rc;
      }
      if (!tcp) {
        int rc;
        if (d->vnet_hdr_size > 0) {
          struct iovec iov[2] = {{(void *)&zero, (size_t)d->vnet_hdr_size}, {data, length}};
          rc = write_frame(d, iov, 2);
        } else {
          struct iovec iov[1] = {{data, length}};
          rc = write_frame(d, iov, 1);
        }
        if (rc < 0) break;
        sent += (uint32_t)rc;
        continue;
      }
      run.first = run.last = seg;
      run.payload = 0;
      run.closed = 0;
    }
    size_t size = seg.len - seg.payload;
    run.payloads[run.count++] = (struct iovec){(void *)(seg.data + seg.payload), size};
    run.payload += size;
    run.closed = (seg.flags & 0x08) != 0 || size < run.first.len - run.first.payload;
  }
  if (run.count > 0) {
    int rc = write_run(d, &run);
    if (rc > 0) sent += (uint32_t)rc;
  }
  napi_value result;
  CHECK(napi_create_uint32(env, sent, &result));
  return result;
}

/* close(handle): stops polling and closes the descriptor (the device disappears unless persistent). */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  device_close(d, 1);
  return NULL;
}

/* ref(handle, on): whether the open device keeps the event loop (and the process) alive. */
static napi_value Ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool on;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  CHECK(napi_get_value_bool(env, argv[1], &on));
  if (d->closed) return NULL;
  if (on)
    uv_ref((uv_handle_t *)&d->poll);
  else
    uv_unref((uv_handle_t *)&d->poll);
  return NULL;
}

/*
 * setReading(handle, on): starts or stops polling for readability. While stopped, frames wait in the
 * device's queue (txqueuelen frames; the kernel drops beyond that) and the handle keeps nothing alive.
 */
static napi_value SetReading(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool on;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  CHECK(napi_get_value_bool(env, argv[1], &on));
  if (d->closed) return throw_code(env, "EBADF", "tap device is closed");
  int rc = on ? uv_poll_start(&d->poll, UV_READABLE, on_poll) : uv_poll_stop(&d->poll);
  if (rc < 0) return throw_errno(env, -rc, "uv_poll");
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setOffload", NULL, SetOffload, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setLink", NULL, SetLink, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attach", NULL, Attach, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, Write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ref", NULL, Ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setReading", NULL, SetReading, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
