/**
 * DHCPv6 retransmission (RFC 8415 15): each message of an exchange is sent again after RT, where
 *
 *     RT = IRT + RAND*IRT            (the first; RAND > 0 for Solicit, RFC 8415 18.2.1)
 *     RT = 2*RTprev + RAND*RTprev    (then)
 *     RT = MRT + RAND*MRT            (when that exceeds MRT, MRT > 0)
 *
 * with RAND uniform in [-0.1, 0.1], until MRC transmissions were sent or MRD has passed (0: no
 * limit). The parameter values are RFC 8415 7.6's.
 */
import { type Rng, randomFloat } from '../../core/rng.ts';
import { type Duration, SECOND } from '../../core/time.ts';

export interface RetransmitParams {
  /** Initial retransmission time. */
  irt: Duration;
  /** Maximum retransmission time (0: none). */
  mrt: Duration;
  /** Maximum transmissions (0: no limit). */
  mrc: number;
  /** Maximum duration (0: no limit; Renew and Rebind set it from T2 and the lifetimes). */
  mrd: Duration;
  /** The first RT is strictly greater than IRT (Solicit). */
  firstAboveIrt?: boolean;
}

/** RFC 8415 7.6. */
export const SOL_MAX_DELAY = 1 * SECOND;
export const INF_MAX_DELAY = 1 * SECOND;
export const SOLICIT: RetransmitParams = {
  irt: 1 * SECOND,
  mrt: 3600 * SECOND,
  mrc: 0,
  mrd: 0,
  firstAboveIrt: true,
};
export const REQUEST: RetransmitParams = { irt: 1 * SECOND, mrt: 30 * SECOND, mrc: 10, mrd: 0 };
export const RENEW: RetransmitParams = { irt: 10 * SECOND, mrt: 600 * SECOND, mrc: 0, mrd: 0 };
export const REBIND: RetransmitParams = { irt: 10 * SECOND, mrt: 600 * SECOND, mrc: 0, mrd: 0 };
export const INFORMATION_REQUEST: RetransmitParams = { irt: 1 * SECOND, mrt: 3600 * SECOND, mrc: 0, mrd: 0 };
export const RELEASE: RetransmitParams = { irt: 1 * SECOND, mrt: 0, mrc: 4, mrd: 0 };

/** RAND of RFC 8415 15: uniform in [-0.1, 0.1] (in (0, 0.1] when `positive`). */
function rand(rng: Rng, positive: boolean): number {
  const r = randomFloat(rng);
  return positive ? 0.1 * (1 - r) : 0.2 * r - 0.1;
}

/** The next RT after `previous` (undefined for the first transmission). */
export function nextTimeout(params: RetransmitParams, previous: Duration | undefined, rng: Rng): Duration {
  if (previous === undefined) return params.irt + rand(rng, params.firstAboveIrt === true) * params.irt;
  const rt = 2 * previous + rand(rng, false) * previous;
  if (params.mrt > 0 && rt > params.mrt) return params.mrt + rand(rng, false) * params.mrt;
  return rt;
}

/** One exchange's transmissions: counts them and says when to give up (MRC, MRD). */
export class Exchange {
  transmissions = 0;
  private rt: Duration | undefined;

  constructor(
    readonly params: RetransmitParams,
    /** When the first transmission went (for MRD and the Elapsed Time option). */
    readonly started: number,
  ) {}

  /**
   * The delay until the next transmission after one that was just sent at `now`, or undefined
   * when the exchange has failed: MRC transmissions sent, or MRD reached (RFC 8415 15).
   */
  sent(now: number, rng: Rng): Duration | undefined {
    this.transmissions++;
    const { mrc, mrd } = this.params;
    if (mrc > 0 && this.transmissions >= mrc) return undefined;
    this.rt = nextTimeout(this.params, this.rt, rng);
    if (mrd > 0) {
      const left = this.started + mrd - now;
      if (left <= 0) return undefined;
      return Math.min(this.rt, left);
    }
    return this.rt;
  }

  /** RFC 8415 21.9: hundredths of a second since the first transmission, 0xffff at most. */
  elapsed(now: number): number {
    return this.transmissions === 0 ? 0 : Math.min(0xffff, Math.floor((now - this.started) / 10));
  }
}
