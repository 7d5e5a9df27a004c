/**
 * Hand-made IPv4 packets for simulation tests: built with the wire emitters and sent as whole
 * Ethernet frames from a packet socket, so they skip the sender's IPv4 layer (fragments, bad
 * headers, forged sources).
 */
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { MacAddr } from '../../src/wire/address.ts';
import type { Ipv4EmitParams } from '../../src/wire/ipv4.ts';
import { ipv4FrameOf } from './frames.ts';
import type { Host } from './sim-hosts.ts';

/** One fragment of a datagram: the header fields to emit and its part of the payload. */
export interface FragmentSpec {
  params: Ipv4EmitParams;
  payload: Uint8Array;
}

/**
 * Splits `payload` into fragments of `size` bytes (a multiple of 8; the last may be shorter),
 * in order, as RFC 791 3.2 does. Later fragments get `laterOptions` (default: none).
 */
export function fragmentsOf(
  params: Ipv4EmitParams,
  payload: Uint8Array,
  size: number,
  laterOptions?: Uint8Array,
): FragmentSpec[] {
  if (size % 8 !== 0 || size <= 0) throw new RangeError(`fragment size ${size}`);
  const out: FragmentSpec[] = [];
  for (let offset = 0; offset < payload.length; offset += size) {
    const end = Math.min(payload.length, offset + size);
    const { options, ...rest } = params;
    const opts = offset === 0 ? options : laterOptions;
    out.push({
      params: {
        ...rest,
        fragmentOffset: offset,
        moreFragments: end < payload.length,
        ...(opts !== undefined ? { options: opts } : {}),
      },
      payload: payload.subarray(offset, end),
    });
  }
  return out;
}

/**
 * Sends hand-made packets from `from`'s interface (or `iface`) in frames addressed to `dstMac`
 * (default: the link-layer address the test passes per call).
 */
export function injector(from: Host, iface: NetworkInterface = from.iface) {
  const socket = from.stack.packetSockets.open({ iface, onFrame: () => {} });
  const send = (dstMac: MacAddr, params: Ipv4EmitParams, payload: Uint8Array) =>
    socket.send(iface, ipv4FrameOf(payload, params, { src: iface.mac, dst: dstMac }));
  return {
    send,
    /** Sends fragments in the given order. */
    sendAll: (dstMac: MacAddr, fragments: readonly FragmentSpec[]) => {
      for (const f of fragments) send(dstMac, f.params, f.payload);
    },
  };
}
