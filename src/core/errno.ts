/**
 * Node-style errors for API misuse and for network errors reported to sockets: an `Error` with a
 * `code` such as `EADDRINUSE`, as Node's own `net` and `dgram` throw.
 */
import {
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_PARAMETER_PROBLEM,
  ICMPV4_TIME_EXCEEDED,
  UNREACH_FRAG_NEEDED,
  UNREACH_NET,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
} from '../wire/icmpv4.ts';

export type ErrnoError = Error & { code: string };

/** An `Error` carrying `code`. */
export function errno(code: string, message: string): ErrnoError {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/**
 * The errno an ICMPv4 error stands for, as Linux maps it (`icmp_err_convert`): RFC 1122 4.1.3.3
 * asks UDP to pass every ICMP error up, and this is the name it is passed up with.
 */
export function icmpv4Errno(type: number, code: number): string {
  if (type === ICMPV4_TIME_EXCEEDED) return 'EHOSTUNREACH';
  if (type === ICMPV4_PARAMETER_PROBLEM) return 'EPROTO';
  if (type !== ICMPV4_DEST_UNREACHABLE) return 'EIO';
  switch (code) {
    case UNREACH_NET:
    case 6: // network unknown
    case 9: // network administratively prohibited
    case 11: // network unreachable for TOS
      return 'ENETUNREACH';
    case UNREACH_PROTOCOL:
      return 'ENOPROTOOPT';
    case UNREACH_PORT:
      return 'ECONNREFUSED';
    case UNREACH_FRAG_NEEDED:
      return 'EMSGSIZE';
    case 5: // source route failed
      return 'EOPNOTSUPP';
    case 7: // destination host unknown
      return 'EHOSTDOWN';
    case 8: // source host isolated
      return 'ENONET';
    default: // host unreachable, prohibited, for TOS, filtered, precedence
      return 'EHOSTUNREACH';
  }
}
