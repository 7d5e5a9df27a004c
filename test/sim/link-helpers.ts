/** Raw Ethernet frames through real stacks, for the tests of the simulated network. */
import { Simulation, VirtualNetwork, type WireOptions } from '../../src/bindings/memory/index.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import type { MacAddr } from '../../src/wire/address.ts';
import { emitEthernet, type VlanTag } from '../../src/wire/ethernet.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';

/** IEEE 802 "Local Experimental EtherType 1", so no protocol of the stack claims the frames. */
export const ETHERTYPE_TEST = 0x88b5;

/** A frame whose payload starts with a 32-bit sequence number, zero-filled to `payloadLength`. */
export function testFrame(
  src: MacAddr,
  dst: MacAddr,
  seq: number,
  payloadLength = 46,
  vlan?: VlanTag,
): Uint8Array {
  const pb = PacketBuffer.alloc(MAX_HEADROOM, payloadLength);
  new DataView(pb.buf.buffer, pb.buf.byteOffset).setUint32(pb.start, seq);
  emitEthernet(pb, { src, dst, ethertype: ETHERTYPE_TEST, ...(vlan ? { vlan } : {}) });
  return pb.bytes();
}

/** The sequence number of a test frame (untagged or tagged). */
export function seqOf(frame: Uint8Array): number {
  const offset = frame[12] === 0x81 && frame[13] === 0x00 ? 18 : 14;
  return new DataView(frame.buffer, frame.byteOffset).getUint32(offset);
}

export interface Arrival {
  /** When the stack received it. */
  at: number;
  seq: number;
  /** A copy of the frame (packet sockets lend theirs only during the callback). */
  frame: Uint8Array;
  iface: NetworkInterface;
}

/** Records every test frame `stack` receives (also those for other stations, if `promiscuous`). */
export function listen(stack: Stack, promiscuous = false): Arrival[] {
  const log: Arrival[] = [];
  stack.packetSockets.open({
    ethertype: ETHERTYPE_TEST,
    promiscuous,
    onFrame: (frame, iface) => log.push({ at: stack.now(), seq: seqOf(frame), frame: frame.slice(), iface }),
  });
  return log;
}

/** A function that sends frames from `stack` on `iface`, all in one batch (one entry into the stack). */
export function sender(stack: Stack, iface: NetworkInterface): (frames: Uint8Array[]) => void {
  const socket = stack.packetSockets.open({ ethertype: ETHERTYPE_TEST, onFrame: () => {} });
  return (frames) =>
    stack.run(() => {
      for (const f of frames) socket.send(iface, f);
    });
}

/**
 * A stack that sends nothing of its own accord (no IPv6 autoconfiguration: link-local DAD, MLD,
 * router solicitations), so a wire or switch it is on carries only the test's frames and their
 * counts are exact.
 */
export function quietStack(sim: Simulation, name?: string): Stack {
  return sim.createStack({ ...(name !== undefined ? { name } : {}), ipv6: false });
}

/** A simulation with two quiet stacks, `a` and `b`, on the two ends of one wire. */
export function wiredPair(seed = 1, options: WireOptions = {}) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const a = quietStack(sim, 'a');
  const b = quietStack(sim, 'b');
  const wire = net.wire(options);
  const ia = wire.attach(a, 'eth0');
  const ib = wire.attach(b, 'eth0');
  return { sim, net, a, b, wire, ia, ib };
}
