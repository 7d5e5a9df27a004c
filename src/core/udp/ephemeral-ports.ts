/**
 * Ephemeral port selection (RFC 6056). A socket connected to a peer gets a port from Algorithm 3,
 * "Simple Hash-Based Port Selection" (RFC 6056 3.3.3): an offset keyed by a secret hash of the
 * connection's addresses plus a counter shared by all connections, so ports of different peers
 * are unrelated while successive connections to one peer do not collide. A socket bound to port 0
 * without a peer gets Algorithm 1, "Simple Port Randomization" (RFC 6056 3.3.1).
 */

import { errno } from '../errno.ts';
import { type IpAddr, ipWords } from '../ip-address.ts';
import { type HashKey, keyedHash, randomHashKey } from '../keyed-hash.ts';
import { type Rng, randomBelow } from '../rng.ts';

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** Linux's default net.ipv4.ip_local_port_range (RFC 6056 3.2 recommends 1024-65535). */
export const DEFAULT_EPHEMERAL_RANGE: PortRange = { min: 32768, max: 60999 };

export class EphemeralPorts {
  private current: PortRange;
  /** RFC 6056 3.3.3 `next_ephemeral`, advanced on every port tried. */
  private next = 0;
  /** RFC 6056 3.3.3 `secret_key`, drawn on first use. */
  private key: HashKey | undefined;

  constructor(
    private readonly rng: Rng,
    range: PortRange = DEFAULT_EPHEMERAL_RANGE,
  ) {
    this.current = checkRange(range);
  }

  get range(): PortRange {
    return this.current;
  }

  set range(range: PortRange) {
    this.current = checkRange(range);
  }

  /**
   * RFC 6056 3.3.3: port = min + (next_ephemeral + F(local, remote, remote port, key)) % count,
   * trying each port of the range once. Undefined when none is `suitable`.
   */
  forConnection(
    local: IpAddr,
    remote: IpAddr,
    remotePort: number,
    suitable: (port: number) => boolean,
  ): number | undefined {
    this.key ??= randomHashKey(this.rng);
    const offset = keyedHash(this.key, [...ipWords(local), ...ipWords(remote), remotePort]);
    const { min, max } = this.current;
    const count = max - min + 1;
    for (let i = 0; i < count; i++) {
      const port = min + ((this.next + offset) % count);
      this.next = (this.next + 1) >>> 0;
      if (suitable(port)) return port;
    }
    return undefined;
  }

  /** RFC 6056 3.3.1: a random start, then every port of the range once, in order. */
  random(suitable: (port: number) => boolean): number | undefined {
    const { min, max } = this.current;
    const count = max - min + 1;
    let port = min + randomBelow(this.rng, count);
    for (let i = 0; i < count; i++) {
      if (suitable(port)) return port;
      port = port === max ? min : port + 1;
    }
    return undefined;
  }
}

function checkRange(range: PortRange): PortRange {
  const { min, max } = range;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 0xffff || min > max) {
    throw errno('EINVAL', `bad port range ${min}-${max}`);
  }
  return { min, max };
}
