/**
 * Receive-side processing of the IPv6 extension header chain (RFC 8200 4), in the order the
 * headers appear: Hop-by-Hop options (only right after the fixed header, 4.3), Destination
 * options (4.6), Routing (4.4; type 0 is refused as RFC 5095 3 says, as an unrecognized type),
 * and the Fragment header (4.5), which hands over to reassembly unless the fragment is atomic
 * (RFC 6946, RFC 8021: processed in isolation). Unrecognized options act on their two high-order
 * type bits (4.2). Problems that deserve an ICMPv6 Parameter Problem say where it points.
 */

import {
  PARAM_ERRONEOUS_FIELD,
  PARAM_UNRECOGNIZED_NEXT_HEADER,
  PARAM_UNRECOGNIZED_OPTION,
} from '../../wire/icmpv6.ts';
import { IPV6_HEADER_LEN } from '../../wire/ipv6.ts';
import {
  extHeaderAt,
  type FragmentHeaderRepr,
  MAX_EXT_HEADERS,
  NH_DEST_OPTS,
  NH_FRAGMENT,
  NH_HOP_BY_HOP,
  NH_ROUTING,
  OPT_ROUTER_ALERT,
  optionAction,
  parseFragmentHeader,
  readOptions,
} from '../../wire/ipv6-ext.ts';

/** Offset of the Next Header field in the fixed header. */
export const FIXED_NEXT_HEADER = 6;

export type ExtDropReason =
  | 'truncated-ext'
  | 'misplaced-hop-by-hop'
  | 'bad-options'
  | 'unknown-option'
  | 'routing-type'
  | 'too-many-headers';

/** An ICMPv6 Parameter Problem to send about the packet (RFC 4443 3.4). */
export interface ParameterProblem {
  code: number;
  /** Octet offset in the packet (from the start of the fixed header). */
  pointer: number;
  /** Sent even when the destination was multicast (RFC 8200 4.2 action 10, RFC 4443 2.4 (e.3)). */
  evenToMulticast: boolean;
}

export type ExtVerdict =
  /** The upper-layer protocol starts at `offset`; `nextHeaderAt` is where its number was found. */
  /** `atomicFragment`: an atomic fragment's Fragment header was passed on the way (RFC 6946). */
  | {
      kind: 'upper';
      protocol: number;
      offset: number;
      nextHeaderAt: number;
      routerAlert: number | undefined;
      atomicFragment: boolean;
    }
  /** A fragment to reassemble: its header is at `headerAt`, its data from `headerAt + 8`. */
  | { kind: 'fragment'; fragment: FragmentHeaderRepr; headerAt: number; routerAlert: number | undefined }
  | { kind: 'drop'; reason: ExtDropReason; problem?: ParameterProblem };

/**
 * Walks the headers of `packet` (a checked IPv6 packet, trimmed to its payload length).
 * `multicast` says whether the destination was multicast (for option action 11).
 */
export function processExtensionHeaders(packet: Uint8Array, multicast: boolean): ExtVerdict {
  let type = packet[FIXED_NEXT_HEADER]!;
  let nextHeaderAt = FIXED_NEXT_HEADER;
  let offset = IPV6_HEADER_LEN;
  let routerAlert: number | undefined;
  let atomicFragment = false;
  for (let count = 0; ; count++) {
    if (type !== NH_HOP_BY_HOP && type !== NH_DEST_OPTS && type !== NH_ROUTING && type !== NH_FRAGMENT) {
      return { kind: 'upper', protocol: type, offset, nextHeaderAt, routerAlert, atomicFragment };
    }
    if (count === MAX_EXT_HEADERS) return { kind: 'drop', reason: 'too-many-headers' };
    // RFC 8200 4.3: Hop-by-Hop options only immediately after the fixed header; elsewhere the
    // value is an unrecognized Next Header (code 1), as Linux treats it.
    if (type === NH_HOP_BY_HOP && offset !== IPV6_HEADER_LEN) {
      return {
        kind: 'drop',
        reason: 'misplaced-hop-by-hop',
        problem: { code: PARAM_UNRECOGNIZED_NEXT_HEADER, pointer: nextHeaderAt, evenToMulticast: false },
      };
    }
    const h = extHeaderAt(type, packet, offset);
    if (!h.ok) return { kind: 'drop', reason: 'truncated-ext' };
    const header = h.value.bytes;
    switch (type) {
      case NH_HOP_BY_HOP:
      case NH_DEST_OPTS: {
        const verdict = processOptions(header, offset, multicast);
        if (verdict.kind === 'drop') return verdict;
        if (type === NH_HOP_BY_HOP) routerAlert = verdict.routerAlert;
        break;
      }
      case NH_ROUTING:
        // RFC 8200 4.4: with Segments Left 0 the header is ignored; otherwise this node would have
        // to process a type it does not implement (every type here; type 0 by RFC 5095 3).
        if (header[3] !== 0) {
          return {
            kind: 'drop',
            reason: 'routing-type',
            problem: { code: PARAM_ERRONEOUS_FIELD, pointer: offset + 2, evenToMulticast: false },
          };
        }
        break;
      default: {
        const fragment = parseFragmentHeader(header);
        if (!fragment.ok) return { kind: 'drop', reason: 'truncated-ext' };
        // RFC 8200 4.5 / RFC 6946: an atomic fragment (offset 0, M clear) is processed in
        // isolation; anything else goes to reassembly.
        if (fragment.value.offset !== 0 || fragment.value.more) {
          return { kind: 'fragment', fragment: fragment.value, headerAt: offset, routerAlert };
        }
        atomicFragment = true;
      }
    }
    nextHeaderAt = offset;
    type = header[0]!;
    offset += header.length;
  }
}

/** RFC 8200 4.2: the options of a Hop-by-Hop or Destination Options header at `at`. */
function processOptions(
  header: Uint8Array,
  at: number,
  multicast: boolean,
): { kind: 'ok'; routerAlert: number | undefined } | Extract<ExtVerdict, { kind: 'drop' }> {
  const options = readOptions(header);
  if (!options.ok) return { kind: 'drop', reason: 'bad-options' };
  let routerAlert: number | undefined;
  for (const o of options.value) {
    if (o.type === OPT_ROUTER_ALERT) {
      routerAlert = (o.data[0]! << 8) | o.data[1]!;
      continue;
    }
    const action = optionAction(o.type);
    if (action === 'skip') continue;
    const problem: ParameterProblem = {
      code: PARAM_UNRECOGNIZED_OPTION,
      pointer: at + o.offset,
      evenToMulticast: action === 'discard-send-icmp',
    };
    const send = action === 'discard-send-icmp' || (action === 'discard-send-icmp-unicast' && !multicast);
    return { kind: 'drop', reason: 'unknown-option', ...(send ? { problem } : {}) };
  }
  return { kind: 'ok', routerAlert };
}
