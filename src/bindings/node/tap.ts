/**
 * Linux TAP (Ethernet) and TUN (IP) devices as `LinkEndpoint`s, through the optional native addon
 * (see `tap-native.ts`). Readiness comes from Node's own event loop (uv_poll), so a device costs no
 * thread; reads are drained in batches into one buffer this object owns and handed to the stack as one
 * batch; a transmitted batch is one call into the addon.
 *
 * Receive buffer: `batch` slots (256 by default) of `slotSize` bytes, one frame per slot. A slot holds
 * the largest frame the device can deliver: the MTU plus an Ethernet header with one 802.1Q tag (TAP),
 * plus the virtio-net header when enabled, plus one byte: a frame that fills its slot was cut short
 * by the kernel (its MTU is larger than ours) and is dropped and counted in `stats.rxOversized`.
 * With the default MTU that is 256 * 1519 bytes (~380 KiB).
 * The frames handed to the receiver are views into this buffer, valid only during the call (the core
 * copies what it keeps); the next batch overwrites them.
 *
 * Kernel side: `mtu` is also set on the kernel's device (SIOCSIFMTU) when given, and `up: true`
 * raises the link (SIOCSIFFLAGS). Both act on the namespace the process runs in; a device moved into
 * another namespace (`ip link set DEV netns NS`) goes down and is configured there with `ip`.
 *
 * virtio-net header (IFF_VNET_HDR, `vnetHeader: true`): every frame is preceded by the 12-byte
 * `virtio_net_hdr_mrg_rxbuf`. Without offloads (the default) the kernel sends headers with no flags
 * and this side writes zeroed ones. The header of a received frame sits right before the frame's view,
 * at `frame.byteOffset - VIRTIO_NET_HDR_LEN` in `frame.buffer`. Checksum and segmentation offloads
 * (`setOffload`) need the stack to read and write those headers and, for segmentation, 64 KiB slots.
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
  /** Received frames larger than the receive slots (the kernel side's MTU is above ours), dropped. */
  rxOversized: number;
  txFrames: number;
  /** Frames the kernel did not take (its queue was full or it refused them) or sent after close. */
  txDrops: number;
}

const DEFAULT_MTU = 1500;
const DEFAULT_BATCH = 256;
/** Ethernet header plus one 802.1Q tag. */
const ETHERNET_HEADER_MAX = 18;

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
  readonly stats: TunTapStats = { rxFrames: 0, rxBatches: 0, rxOversized: 0, txFrames: 0, txDrops: 0 };
  /** Receives each batch (views valid only during the call); frames arriving while unset are dropped. */
  receiver: ((frames: readonly Uint8Array[]) => void) | undefined;
  private readonly native: TapNative;
  private readonly handle: NativeDeviceHandle;
  private readonly fd: number;
  private readonly rxBuffer: ArrayBuffer;
  private readonly rxLengths: Int32Array;
  private readonly slotSize: number;
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
    this.headerLen = options.vnetHeader ? VIRTIO_NET_HDR_LEN : 0;
    // One byte more than the largest frame, so that a frame the kernel cut short shows as a full slot.
    this.slotSize = this.mtu + (tap ? ETHERNET_HEADER_MAX : 0) + this.headerLen + 1;
    this.rxBuffer = new ArrayBuffer(batch * this.slotSize);
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
      this.slotSize,
      this.rxLengths,
      (count, oversized) => this.onBatch(count, oversized),
      (error) => {
        this.close();
        onError(error);
      },
    );
    if (options.ref === false) this.unref();
  }

  private onBatch(count: number, oversized: number): void {
    this.stats.rxOversized += oversized;
    if (count === 0) return;
    this.stats.rxBatches++;
    this.stats.rxFrames += count;
    const receiver = this.receiver;
    if (receiver === undefined) return;
    const frames = new Array<Uint8Array>(count);
    for (let i = 0; i < count; i++) {
      frames[i] = new Uint8Array(
        this.rxBuffer,
        i * this.slotSize + this.headerLen,
        this.rxLengths[i]! - this.headerLen,
      );
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
   * Enables checksum offload (TUNSETOFFLOAD with `TUN_F_CSUM`): the kernel may then deliver frames
   * whose transport checksum is partial, flagged in their virtio-net header. Needs `vnetHeader`.
   * Segmentation offloads (TSO/USO) need 64 KiB receive slots and are refused with ENOTSUP for now.
   */
  setOffload(flags: number): void {
    if (this.headerLen === 0) {
      throw Object.assign(new Error('offloads need the virtio-net header (vnetHeader: true)'), {
        code: 'EINVAL',
      });
    }
    if ((flags & ~TUN_F_CSUM) !== 0) {
      throw Object.assign(new Error('segmentation offloads need 64 KiB receive slots (not yet)'), {
        code: 'ENOTSUP',
      });
    }
    this.native.setOffload(this.fd, flags);
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
  device.receiver = (frames) => iface.receive(frames);
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
