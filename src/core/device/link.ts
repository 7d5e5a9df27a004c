/**
 * The interface between the core and a network device. A binding (TAP, a virtual wire, a
 * loopback) implements `LinkEndpoint`; the stack hands it batches of frames to send, and the binding
 * hands received batches to `NetworkInterface.receive`.
 */
import type { MacAddr } from '../../wire/address.ts';

/** What a frame on this link starts with. */
export type LinkKind =
  /** Ethernet II frames (TAP devices, virtual wires and switches). */
  | 'ethernet'
  /** Bare IPv4/IPv6 packets (TUN devices). */
  | 'ip';

/**
 * Payloads of a keepable frame (`LinkCapabilities.keepableFrames`) shorter than this are copied
 * rather than kept as views by the transports, so that a few bytes do not pin a whole frame buffer.
 */
export const KEEP_MIN_BYTES = 512;

export interface LinkCapabilities {
  /**
   * The link cannot corrupt frames and every receiver knows it (memory links, loopback): the stack
   * neither computes nor verifies transport checksums on it.
   */
  readonly noChecksums?: boolean;
  /**
   * The frames the link hands to `NetworkInterface.receive` stay valid and unchanged afterwards (the
   * link never reuses their bytes: memory links, loopback), so the stack may keep views of them
   * instead of copies (TCP's receive queue). Links that reuse a receive buffer (TAP) leave it unset.
   */
  readonly keepableFrames?: boolean;
}

export interface LinkEndpoint {
  readonly kind: LinkKind;
  /** The largest network-layer packet the link carries (1500 on Ethernet). */
  readonly mtu: number;
  /** The link-layer address, for Ethernet. */
  readonly mac?: MacAddr;
  readonly capabilities?: LinkCapabilities;
  /**
   * Sends a batch of frames. The frames belong to the link once handed over (the stack does not
   * reuse their bytes).
   */
  transmit(frames: readonly Uint8Array[]): void;
}

/** Direction of a frame seen by an observer. */
export type FrameDirection = 'rx' | 'tx';

/** Sees every frame an interface receives or sends (pcap capture, packet tracing). */
export type FrameObserver = (direction: FrameDirection, frame: Uint8Array, now: number) => void;
