/**
 * Linux TAP (Ethernet) and TUN (IP) devices as `LinkEndpoint`s, through the optional native addon
 * (see `tap-native.ts`). Readiness comes from Node's own event loop (uv_poll), so a device costs no
 * thread; reads are drained in batches into one buffer this object owns and handed to the stack as one
 * batch; a transmitted batch is one call into the addon.
 *
 * Receive buffer: up to `batch` frames (256 by default) packed one after the other. The largest frame
 * the device can deliver is the MTU plus an Ethernet header with one 802.1Q tag (TAP), plus the
 * virtio-net header when enabled (with offloads: a 64 KiB GSO super-frame); each read is offered one
 * byte more, so a frame that fills it was cut short by the kernel (its MTU is larger than ours) and
 * is dropped and counted in `stats.rxOversized`. The buffer holds `batch` frames of the MTU (~380 KiB
 * by default), and at least 32 super-frames with offloads (2 MiB).
 * The frames handed to the receiver are views into this buffer, valid only during the call (the core
 * copies what it keeps); the next batch overwrites them.
 *
 * Kernel side: `mtu` is also set on the kernel's device (SIOCSIFMTU) when given, and `up: true`
 * raises the link (SIOCSIFFLAGS). Both act on the namespace the process runs in; a device moved into
 * another namespace (`ip link set DEV netns NS`) goes down and is configured there with `ip`.
 *
 * virtio-net header (IFF_VNET_HDR, `vnetHeader: true`): every frame is preceded by the 12-byte
 * `virtio_net_hdr_mrg_rxbuf`. Without offloads the kernel sends headers with no flags and this side
 * writes zeroed ones. The header of a received frame sits right before the frame's view, at
 * `frame.byteOffset - VIRTIO_NET_HDR_LEN` in `frame.buffer`.
 *
 * Offloads (`offload: true`, which implies the header): TUNSETOFFLOAD with TUN_F_CSUM | TUN_F_TSO4 |
 * TUN_F_TSO6, so the kernel skips the transport checksum of what it sends to the stack (the addon
 * completes it in C, see native/tap/tap.c) and sends TCP as GSO super-frames of up to 64 KiB, one TCP
 * segment each, which the stack takes like any segment: a Linux receiver does the same with GRO. The
 * kernel then handles one frame where it handled ~44, and so does the stack. On the way out the addon
 * coalesces the consecutive TCP data segments of one connection in a transmitted batch into one
 * super-frame with a virtio-net header asking for TCP segmentation (gso_size = the segments' size,
 * partial checksum), written with one writev from the segments' own bytes: the kernel takes it as one
 * packet, like a frame from a NIC doing TSO. A capture of the stack (`--pcap`) shows the segments;
 * one on the kernel side shows the super-frames.
 */

import type { NetworkInterface } from '../../core/device/interface.ts';
import type { LinkEndpoint, LinkKind } from '../../core/device/link.ts';
import { CryptoRng, type Rng } from '../../core/rng.ts';
import type { Stack } from '../../core/stack.ts';
import type { MacAddr } from '../../wire/address.ts';
import {
  loadTapNative,
  type NativeDeviceHandle,
  type TapNative,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6,
  VIRTIO_NET_HDR_LEN,
} from './tap-native.ts';

export interface TunTapOptions {
  /** The device name (at most 15 bytes); empty or absent: the kernel picks tapN / tunN. */
  name?: string;
  /** The link MTU (default 1500); when given it is set on the kernel side too (SIOCSIFMTU). */
  mtu?: number;
  /** Bring the kernel side up (SIOCSIFFLAGS IFF_UP) in this process's namespace (default false). */
  up?: boolean;
  /** Frames read per readiness event at most, and so per batch handed to the stack (default 256). */
  batch?: number;
  /** Open with IFF_VNET_HDR and a 12-byte virtio-net header (default false). */
  vnetHeader?: boolean;
  /**
   * Receive with checksum and TCP segmentation offloads (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6): the
   * kernel sends partial checksums and 64 KiB GSO super-frames (implies `vnetHeader`; default false).
   */
  offload?: boolean;
  /** Whether the open device keeps the process alive (default true, like a socket). */
  ref?: boolean;
  /**
   * Called with a fatal read error (the device was deleted, e.g. with its namespace); the device is
   * closed by then. Without a handler the error is thrown as an uncaught exception.
   */
  onError?: (error: NodeJS.ErrnoException) => void;
}

export interface TapOptions extends TunTapOptions {
  /** The stack's MAC address; a random locally administered unicast address when absent. */
  mac?: MacAddr;
  /** Where the random MAC comes from (default `CryptoRng`). */
  rng?: Rng;
}

/** Counters of one device, in frames. */
export interface TunTapStats {
  rxFrames: number;
  /** Readiness events that delivered frames (rxFrames / rxBatches is the mean batch size). */
  rxBatches: number;
  /** Received frames larger than a read may be (the kernel side's MTU is above ours), dropped. */
  rxOversized: number;
  /** Received frames whose virtio-net header was unusable (checksum offsets outside the frame), dropped. */
  rxBadHeader: number;
  /** Received GSO super-frames (larger than the MTU; with `offload`). */
  rxSuperFrames: number;
  txFrames: number;
  /** Frames the kernel did not take (its queue was full or it refused them) or sent after close. */
  txDrops: number;
}

const DEFAULT_MTU = 1500;
const DEFAULT_BATCH = 256;
/** Ethernet header plus one 802.1Q tag. */
const ETHERNET_HEADER_MAX = 18;
/** The largest IP packet of a GSO super-frame: 64 KiB of payload behind an IPv6 header. */
const SUPER_FRAME_IP = 65535 + 40;
/** Super-frames the receive buffer holds at least, with offloads. */
const SUPER_FRAMES_PER_BATCH = 32;

/** A random locally administered unicast MAC (IEEE 802: I/G bit 0, U/L bit 1). */
export function randomMac(rng: Rng): MacAddr {
  const bytes = new Uint8Array(6);
  rng.fill(bytes);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytes.reduce((mac, b) => mac * 256 + b, 0);
}

/** What TAP and TUN devices share: the descriptor, the receive slots, batched writes. */
abstract class TunTapDevice implements LinkEndpoint {
  abstract readonly kind: LinkKind;
  /** The kernel's name of the device. */
  readonly name: string;
  readonly mtu: number;
  readonly stats: TunTapStats = {
    rxFrames: 0,
    rxBatches: 0,
    rxOversized: 0,
    rxBadHeader: 0,
    rxSuperFrames: 0,
    txFrames: 0,
    txDrops: 0,
  };
  /** Whether the device was opened with checksum and segmentation offloads (`offload`). */
  readonly offload: boolean;
  /** Whether the kernel may send TCP super-frames now (TSO4/TSO6 set by `offload` or `setOffload`). */
  private tso = false;
  /** Receives each batch (views valid only during the call); frames arriving while unset are dropped. */
  receiver: ((frames: readonly Uint8Array[]) => void) | undefined;
  private readonly native: TapNative;
  private readonly handle: NativeDeviceHandle;
  private readonly fd: number;
  private readonly rxBuffer: ArrayBuffer;
  private readonly rxLengths: Int32Array;
  /** The largest frame a read may return, virtio-net header included. */
  private readonly maxFrame: number;
  private readonly headerLen: number;
  private closed = false;

  protected constructor(tap: boolean, options: TunTapOptions) {
    this.native = loadTapNative();
    this.mtu = options.mtu ?? DEFAULT_MTU;
    const batch = options.batch ?? DEFAULT_BATCH;
    if (!Number.isInteger(this.mtu) || this.mtu < 68 || this.mtu > 65535) {
      throw Object.assign(new RangeError(`MTU ${this.mtu} is outside 68..65535`), { code: 'EINVAL' });
    }
    if (!Number.isInteger(batch) || batch < 1 || batch > 4096) {
      throw Object.assign(new RangeError(`batch ${batch} is outside 1..4096`), { code: 'EINVAL' });
    }
    this.offload = options.offload === true;
    this.headerLen = options.vnetHeader || this.offload ? VIRTIO_NET_HDR_LEN : 0;
    const linkHeader = tap ? ETHERNET_HEADER_MAX : 0;
    // A GSO super-frame carries up to 64 KiB of IP payload after an IPv6 header.
    this.maxFrame =
      (this.offload ? Math.max(this.mtu, SUPER_FRAME_IP) : this.mtu) + linkHeader + this.headerLen;
    // Each read is offered maxFrame + 1 bytes, so that a frame the kernel cut short fills it.
    this.rxBuffer = new ArrayBuffer(
      Math.max(
        batch * (this.mtu + linkHeader + this.headerLen + 1),
        this.offload ? SUPER_FRAMES_PER_BATCH * (this.maxFrame + 1) : 0,
      ),
    );
    this.rxLengths = new Int32Array(batch);
    const opened = this.native.open(options.name ?? '', tap, this.headerLen);
    this.name = opened.name;
    this.fd = opened.fd;
    try {
      if (options.mtu !== undefined || options.up)
        this.native.setLink(this.name, options.mtu ?? 0, !!options.up);
    } catch (e) {
      this.native.closeFd(opened.fd);
      throw e;
    }
    const onError =
      options.onError ??
      ((error: NodeJS.ErrnoException) => {
        throw error;
      });
    this.handle = this.native.attach(
      opened.fd,
      this.headerLen,
      this.rxBuffer,
      this.maxFrame,
      this.rxLengths,
      (count, oversized, badHeader) => this.onBatch(count, oversized, badHeader),
      (error) => {
        this.close();
        onError(error);
      },
      tap,
      this.offload,
    );
    if (this.offload) {
      try {
        this.native.setOffload(opened.fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
        this.tso = true;
      } catch (e) {
        this.close();
        throw e;
      }
    }
    if (options.ref === false) this.unref();
  }

  private onBatch(count: number, oversized: number, badHeader: number): void {
    this.stats.rxOversized += oversized;
    this.stats.rxBadHeader += badHeader;
    if (count === 0) return;
    this.stats.rxBatches++;
    this.stats.rxFrames += count;
    const receiver = this.receiver;
    if (receiver === undefined) return;
    // The frames lie one after the other, each behind its virtio-net header (when enabled).
    const frames = new Array<Uint8Array>(count);
    const superFrame = this.mtu + (this.kind === 'ethernet' ? ETHERNET_HEADER_MAX : 0);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const length = this.rxLengths[i]!;
      const frame = new Uint8Array(this.rxBuffer, offset + this.headerLen, length - this.headerLen);
      if (frame.length > superFrame) this.stats.rxSuperFrames++;
      frames[i] = frame;
      offset += length;
    }
    receiver(frames);
  }

  /** Writes the batch with one call into the addon; frames the kernel does not take are counted. */
  transmit(frames: readonly Uint8Array[]): void {
    if (this.closed) {
      this.stats.txDrops += frames.length;
      return;
    }
    const sent = this.native.write(this.handle, frames);
    this.stats.txFrames += sent;
    this.stats.txDrops += frames.length - sent;
  }

  /**
   * Changes the offloads (TUNSETOFFLOAD with `TUN_F_*` flags; 0 turns them off): with `TUN_F_CSUM`
   * the kernel may deliver frames whose transport checksum is partial (the addon completes them).
   * Needs `vnetHeader`; TCP segmentation (TSO4/TSO6) needs a device opened with `offload` (its receive
   * buffer takes 64 KiB super-frames); UDP segmentation is refused (ENOTSUP).
   */
  setOffload(flags: number): void {
    if (this.headerLen === 0) {
      throw Object.assign(new Error('offloads need the virtio-net header (vnetHeader: true)'), {
        code: 'EINVAL',
      });
    }
    const allowed = TUN_F_CSUM | (this.offload ? TUN_F_TSO4 | TUN_F_TSO6 : 0);
    if ((flags & ~allowed) !== 0) {
      throw Object.assign(new Error('segmentation offloads need a device opened with offload: true'), {
        code: 'ENOTSUP',
      });
    }
    this.native.setOffload(this.fd, flags);
    this.tso = (flags & (TUN_F_TSO4 | TUN_F_TSO6)) !== 0;
  }

  /** Whether the kernel may send TCP segments longer than the MTU (GSO super-frames) now. */
  get segmentationOffload(): boolean {
    return this.tso;
  }

  /** The open device keeps the process alive (the default). */
  ref(): void {
    if (!this.closed) this.native.ref(this.handle, true);
  }

  /** The open device no longer keeps the process alive. */
  unref(): void {
    if (!this.closed) this.native.ref(this.handle, false);
  }

  /**
   * Stops reading: frames wait in the kernel's queue for this device (`txqueuelen` of them; the
   * kernel drops and counts the rest) until `resume`. A paused device keeps nothing alive.
   */
  pause(): void {
    if (!this.closed) this.native.setReading(this.handle, false);
  }

  /** Reads again after `pause`. */
  resume(): void {
    if (!this.closed) this.native.setReading(this.handle, true);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops receiving and closes the descriptor; a non-persistent device disappears. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = undefined;
    this.native.close(this.handle);
  }
}

/** A TAP device: Ethernet frames. */
export class TapDevice extends TunTapDevice {
  readonly kind = 'ethernet' as const;
  readonly mac: MacAddr;

  private constructor(options: TapOptions) {
    super(true, options);
    this.mac = options.mac ?? randomMac(options.rng ?? new CryptoRng());
  }

  /** Creates (or attaches to) a TAP device; throws with code EPERM, EBUSY, ENOTSUP, ... */
  static open(options: TapOptions = {}): TapDevice {
    return new TapDevice(options);
  }
}

/** A TUN device: bare IPv4 and IPv6 packets. */
export class TunDevice extends TunTapDevice {
  readonly kind = 'ip' as const;

  private constructor(options: TunTapOptions) {
    super(false, options);
  }

  /** Creates (or attaches to) a TUN device; throws with code EPERM, EBUSY, ENOTSUP, ... */
  static open(options: TunTapOptions = {}): TunDevice {
    return new TunDevice(options);
  }
}

export interface AttachedDevice<D extends TunTapDevice> {
  iface: NetworkInterface;
  device: D;
  /** Takes the interface down and closes the device. */
  close(): void;
}

export interface AttachOptions {
  /** The stack's name for the interface (default: the device's name). */
  ifaceName?: string;
}

function attach<D extends TunTapDevice>(stack: Stack, device: D, options: AttachOptions): AttachedDevice<D> {
  let iface: NetworkInterface;
  try {
    iface = stack.addInterface(options.ifaceName ?? device.name, device);
  } catch (e) {
    device.close();
    throw e;
  }
  device.receiver = (frames) => {
    // A router forwards by the MTU of the outgoing link (a super-frame would not fit it and draw
    // "fragmentation needed"), so a forwarding stack asks the kernel for MTU-sized segments from
    // then on; partial checksums stay (the addon completes them).
    if (device.segmentationOffload && (stack.ipv4.forwarding || stack.ipv6?.forwarding === true))
      device.setOffload(TUN_F_CSUM);
    iface.receive(frames);
  };
  return {
    iface,
    device,
    close() {
      iface.up = false;
      device.close();
    },
  };
}

/** Opens a TAP device and adds it to `stack` as an Ethernet interface. */
export function attachTap(stack: Stack, options: TapOptions & AttachOptions = {}): AttachedDevice<TapDevice> {
  return attach(stack, TapDevice.open(options), options);
}

/** Opens a TUN device and adds it to `stack` as an IP interface. */
export function attachTun(
  stack: Stack,
  options: TunTapOptions & AttachOptions = {},
): AttachedDevice<TunDevice> {
  return attach(stack, TunDevice.open(options), options);
}
