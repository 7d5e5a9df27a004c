/**
 * Proportional Rate Reduction (RFC 6937) with the Slow Start Reduction Bound: during fast
 * recovery, how much the sender may send on each ACK so that the data in flight falls smoothly
 * from RecoverFS to ssthresh (and, after heavy losses, climbs back towards ssthresh no faster
 * than slow start would).
 *
 * Use (RFC 6937 3): `start` on entering recovery; on each ACK during recovery `onAck` gives sndcnt
 * and the engine sets cwnd = pipe + sndcnt; `onSend` for every byte (re)transmitted meanwhile.
 */

/** PRR state for one recovery episode. Sizes in bytes. */
export class Prr {
  private ssthresh = 0;
  private recoverFs = 1;
  /** prr_delivered: bytes delivered to the receiver since recovery started. */
  delivered = 0;
  /** prr_out: bytes sent since recovery started. */
  out = 0;
  private mss: number;

  /** A PRR instance for sender MSS `mss`. */
  constructor(mss: number) {
    this.mss = mss;
  }

  /** The sender MSS changed. */
  setMss(mss: number): void {
    this.mss = mss;
  }

  /**
   * RFC 6937 3, on entering recovery: `ssthresh` as the congestion controller set it, `recoverFS`
   * the bytes in flight (SND.NXT - SND.UNA) at that moment.
   */
  start(ssthresh: number, recoverFS: number): void {
    this.ssthresh = ssthresh;
    this.recoverFs = Math.max(1, recoverFS);
    this.delivered = 0;
    this.out = 0;
  }

  /**
   * RFC 6937 3, on every ACK during recovery: `deliveredData` bytes newly delivered (cumulatively
   * acknowledged plus newly SACKed), `pipe` the RFC 6675 estimate after processing the ACK.
   * Returns sndcnt, the bytes that may be sent now.
   */
  onAck(deliveredData: number, pipe: number): number {
    this.delivered += deliveredData;
    let sndcnt: number;
    if (pipe > this.ssthresh) {
      // Proportional rate reduction.
      sndcnt = Math.ceil((this.delivered * this.ssthresh) / this.recoverFs) - this.out;
    } else {
      // PRR-SSRB: grow back towards ssthresh, at most one MSS beyond what was delivered.
      const limit = Math.max(this.delivered - this.out, deliveredData) + this.mss;
      sndcnt = Math.min(this.ssthresh - pipe, limit);
    }
    return Math.max(sndcnt, 0);
  }

  /** RFC 6937 3: `bytes` were (re)transmitted during recovery. */
  onSend(bytes: number): void {
    this.out += bytes;
  }
}
