/**
 * Packet sockets: raw access to link-layer frames, like Linux's AF_PACKET. A socket sees the
 * frames of one EtherType (or all) on one interface (or all), and sends whole frames.
 *
 * Received frames are views into the binding's receive buffer, valid only during the callback:
 * a handler that keeps one must copy it.
 */
import type { EthernetView } from '../../wire/ethernet.ts';
import type { Stack } from '../stack.ts';
import type { NetworkInterface } from './interface.ts';

/** Largest Ethernet header we send: 14 bytes, plus an 802.1Q tag. */
const MAX_ETHERNET_HEADER = 18;

export interface PacketSocketOptions {
  /** Only frames of this interface; all interfaces when absent. */
  iface?: NetworkInterface;
  /** Only frames of this EtherType; every type when absent (like ETH_P_ALL). */
  ethertype?: number;
  /** Also see frames addressed to other stations. */
  promiscuous?: boolean;
  onFrame: (frame: Uint8Array, iface: NetworkInterface) => void;
}

export class PacketSocket {
  private closed = false;

  constructor(
    private readonly owner: PacketSockets,
    readonly options: PacketSocketOptions,
  ) {}

  /** Sends one whole Ethernet frame on `iface`. */
  send(iface: NetworkInterface, frame: Uint8Array): void {
    if (this.closed) throw Object.assign(new Error('packet socket is closed'), { code: 'EBADF' });
    if (frame.length < 14)
      throw Object.assign(new Error('frame shorter than an Ethernet header'), { code: 'EINVAL' });
    if (frame.length > iface.mtu + MAX_ETHERNET_HEADER) {
      throw Object.assign(new Error(`frame of ${frame.length} bytes exceeds the MTU of ${iface.name}`), {
        code: 'EMSGSIZE',
      });
    }
    this.owner.stack.run(() => iface.enqueue(frame));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.remove(this);
  }
}

export class PacketSockets {
  private sockets: PacketSocket[] = [];

  constructor(readonly stack: Stack) {}

  open(options: PacketSocketOptions): PacketSocket {
    const socket = new PacketSocket(this, options);
    this.sockets = [...this.sockets, socket];
    return socket;
  }

  remove(socket: PacketSocket): void {
    this.sockets = this.sockets.filter((s) => s !== socket);
  }

  /** Gives a received frame to every matching socket; true if any took it. */
  deliver(iface: NetworkInterface, eth: EthernetView, forUs: boolean): boolean {
    if (this.sockets.length === 0) return false;
    let taken = false;
    const ethertype = eth.ethertype;
    for (const s of this.sockets) {
      const o = s.options;
      if (o.iface !== undefined && o.iface !== iface) continue;
      if (o.ethertype !== undefined && o.ethertype !== ethertype) continue;
      if (!forUs && !o.promiscuous) continue;
      o.onFrame(eth.bytes, iface);
      taken = true;
    }
    return taken;
  }
}
