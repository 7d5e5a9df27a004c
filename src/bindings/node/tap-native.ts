/**
 * The typed surface of the optional native addon `netstack_tap` (native/tap/tap.c, built by
 * scripts/build-addon.mjs during `npm install`) and its loader. The addon only opens, configures,
 * polls, reads and writes TAP/TUN descriptors; everything else lives in `tap.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An attached descriptor (opaque; owned by the addon). */
export interface NativeDeviceHandle {
  readonly __brand: 'NativeDeviceHandle';
}

export interface TapNative {
  /**
   * Opens /dev/net/tun (O_RDWR | O_NONBLOCK | O_CLOEXEC) and creates or attaches to device `name`
   * (empty: the kernel picks tapN/tunN) with TUNSETIFF: IFF_TAP or IFF_TUN, IFF_NO_PI, and
   * IFF_VNET_HDR + TUNSETVNETHDRSZ when `vnetHdrSize` is 10 or 12.
   */
  open(name: string, tap: boolean, vnetHdrSize: number): { fd: number; name: string };
  /** Closes a descriptor from `open` that was never attached. */
  closeFd(fd: number): void;
  /** TUNSETOFFLOAD with `TUN_F_*` flags. */
  setOffload(fd: number, flags: number): void;
  /** SIOCSIFMTU (when mtu > 0) and SIOCSIFFLAGS |= IFF_UP (when up) on a device of this namespace. */
  setLink(name: string, mtu: number, up: boolean): void;
  /**
   * Takes `fd` over (closing it if this throws) and polls it for readability on Node's event loop.
   * On readiness the addon reads up to `rxLengths.length` frames packed one after the other from the
   * start of `rxBuffer` (each read is offered `maxFrame + 1` bytes; the batch ends when less is left),
   * frame i's length in `rxLengths[i]`, then calls `onBatch(count, oversized, badHeader)` once.
   * `oversized` counts frames that filled all they were offered (the kernel cut them short) and
   * `badHeader` frames whose virtio-net checksum offsets point outside them; both were dropped. A
   * frame flagged VIRTIO_NET_HDR_F_NEEDS_CSUM has its checksum completed before the call.
   * `onError` gets a fatal read or poll error (the device is gone); polling has stopped then.
   */
  attach(
    fd: number,
    vnetHdrSize: number,
    rxBuffer: ArrayBuffer,
    maxFrame: number,
    rxLengths: Int32Array,
    onBatch: (count: number, oversized: number, badHeader: number) => void,
    onError: (error: NodeJS.ErrnoException) => void,
    /** Ethernet frames (TAP) rather than bare IP packets (TUN). */
    ethernet: boolean,
    /** `write` coalesces consecutive TCP segments into GSO super-frames (needs the header). */
    txGso: boolean,
  ): NativeDeviceHandle;
  /**
   * Writes each frame with one write(2) (writev(2) after a zeroed virtio-net header when enabled);
   * with `txGso`, consecutive TCP data segments of one connection go as one GSO super-frame (one
   * writev, the payloads in place). Returns how many frames the kernel took. Never blocks: stops at
   * EAGAIN, skips a refused frame (all of a refused super-frame).
   */
  write(handle: NativeDeviceHandle, frames: readonly Uint8Array[]): number;
  /** Stops polling and closes the descriptor. */
  close(handle: NativeDeviceHandle): void;
  /** Whether the open device keeps the event loop alive (uv_ref / uv_unref). */
  ref(handle: NativeDeviceHandle, on: boolean): void;
  /** Starts or stops polling (uv_poll_start / uv_poll_stop); stopped, the handle keeps nothing alive. */
  setReading(handle: NativeDeviceHandle, on: boolean): void;
}

/** TUNSETOFFLOAD flags (linux/if_tun.h). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const TUN_F_UFO = 0x10;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

/** sizeof(struct virtio_net_hdr_mrg_rxbuf): the virtio 1.0 header, with num_buffers. */
export const VIRTIO_NET_HDR_LEN = 12;

const ADDON_PATH = join('build', 'Release', 'netstack_tap.node');

/** The package root: the nearest directory above this file whose package.json is netstack-ts. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'netstack-ts')
          return dir;
      } catch {
        // An unreadable package.json is not ours; keep looking upwards.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let loaded: { native: TapNative } | { error: Error } | undefined;

function notAvailable(reason: string): Error {
  return Object.assign(new Error(`TAP/TUN devices are unavailable: ${reason}`), { code: 'ENOTSUP' });
}

/** The addon, loaded once; throws an error with code ENOTSUP when it is not built or not loadable. */
export function loadTapNative(): TapNative {
  loaded ??= tryLoad();
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}

function tryLoad(): { native: TapNative } | { error: Error } {
  if (process.platform !== 'linux')
    return { error: notAvailable(`TAP/TUN is Linux only (${process.platform})`) };
  const root = packageRoot();
  const path = root === undefined ? undefined : join(root, ADDON_PATH);
  if (path === undefined || !existsSync(path)) {
    return {
      error: notAvailable(
        `the native addon is not built (${path ?? ADDON_PATH} is missing; run \`node scripts/build-addon.mjs\`, which needs a C compiler and node-gyp)`,
      ),
    };
  }
  try {
    return { native: createRequire(import.meta.url)(path) as TapNative };
  } catch (e) {
    return { error: notAvailable(`the native addon ${path} does not load: ${(e as Error).message}`) };
  }
}
