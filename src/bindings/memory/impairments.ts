/**
 * Impairments of one direction of a simulated cable, in the spirit of Linux's netem qdisc: loss
 * (independent or in bursts), delay with jitter, reordering, duplication, corruption, a rate limit
 * with a bounded FIFO, and a path MTU. Each direction of a cable applies its own set, and counts
 * what it did in `LinkStats`.
 */
import type { Duration } from '../../core/time.ts';

/**
 * Burst loss with the two-state Gilbert-Elliott model (netem's `loss gemodel p r 1-h 1-k`): the
 * channel is in a good or a bad state; each frame is lost with the probability of the current
 * state, then the state changes with probability `p` (good to bad) or `r` (bad to good).
 * With the default loss probabilities (all frames lost in the bad state, none in the good state),
 * the long-run loss rate is `p / (p + r)` and bursts last `1 / r` frames on average.
 */
export interface GilbertElliottLoss {
  /** Probability of moving from the good to the bad state after a frame. */
  readonly p: number;
  /** Probability of moving from the bad to the good state after a frame. */
  readonly r: number;
  /** Probability that a frame is lost in the bad state (default 1). */
  readonly lossInBad?: number;
  /** Probability that a frame is lost in the good state (default 0). */
  readonly lossInGood?: number;
}

/**
 * What one direction of a link does to the frames it carries. Every field is optional; an empty
 * object is a perfect cable. Frames pass the impairments in this order: MTU check, loss,
 * duplication, corruption (of each copy), the rate-limited queue, then delay, jitter and reordering.
 */
export interface Impairments {
  /**
   * Probability in [0, 1] that a frame is lost, independently of the others; or a Gilbert-Elliott
   * model for losses in bursts.
   */
  readonly loss?: number | GilbertElliottLoss;
  /** Fixed one-way delay in milliseconds (propagation). */
  readonly delay?: Duration;
  /**
   * Each frame's delay is drawn uniformly from `delay ± jitter` milliseconds (never below zero).
   * As with netem, jitter alone may reorder frames.
   */
  readonly jitter?: Duration;
  /**
   * Probability in [0, 1] that a frame skips the delay and jitter, and so overtakes the frames sent
   * before it (netem's `reorder`). Has no effect without delay or jitter.
   */
  readonly reorder?: number;
  /** Probability in [0, 1] that a second copy of a frame is sent right after it. */
  readonly duplicate?: number;
  /**
   * Probability in [0, 1] that one random bit of a frame is flipped. The sender's bytes are never
   * touched: the corrupted frame is a copy.
   */
  readonly corrupt?: number;
  /**
   * Serialization rate in bits per second: frames leave one after another, each taking
   * `8 * length / rate` seconds, `length` being the frame's bytes from the destination MAC to the
   * end of the payload (no preamble, frame check sequence or inter-frame gap). Unlimited when absent.
   */
  readonly rateBitsPerSecond?: number;
  /**
   * Bound of the FIFO in front of a rate-limited transmitter, in bytes of frames accepted and not
   * yet fully serialized (the frame on the wire included). A frame that does not fit is dropped
   * (tail drop, like Linux's bfifo). Default `DEFAULT_QUEUE_BYTES`; unused without a rate.
   */
  readonly queueBytes?: number;
  /**
   * The largest payload (after the 14-byte Ethernet header, or 18 bytes with an 802.1Q tag) this
   * direction carries; larger frames are dropped. Defaults to the MTU of the link, and may be set
   * lower to model a narrower hop.
   */
  readonly mtu?: number;
}

/** Counters of one direction of a link. Every frame offered ends in exactly one of the outcomes. */
export interface LinkStats {
  /** Frames handed to this direction by the sender. */
  sent: number;
  /** Frames handed to the receiver (duplicates included). */
  delivered: number;
  /** Frames lost by the loss impairment. */
  lost: number;
  /** Extra copies made by the duplicate impairment. */
  duplicated: number;
  /** Frames (or copies) with one bit flipped. */
  corrupted: number;
  /** Frames that skipped the delay by the reorder impairment. */
  reordered: number;
  /** Frames whose payload exceeded the MTU. */
  droppedMtu: number;
  /** Frames refused by the full queue of the rate limiter. */
  droppedQueue: number;
  /** Frames that reached an end of the cable with nothing attached to it. */
  droppedNoPeer: number;
}

/** Fresh zeroed counters. */
export function newLinkStats(): LinkStats {
  return {
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    droppedMtu: 0,
    droppedQueue: 0,
    droppedNoPeer: 0,
  };
}

/** Queue bound of a rate-limited direction when none is given: 1000 full-size Ethernet frames, like
 * Linux's default txqueuelen. */
export const DEFAULT_QUEUE_BYTES = 1000 * 1514;

/** The default link MTU: Ethernet's 1500 bytes (RFC 894). */
export const DEFAULT_MTU = 1500;

/** An error carrying a Node-style `code`, as the API throws on misuse. */
export function apiError(code: string, message: string): Error & { code: string } {
  const error = code === 'ERR_OUT_OF_RANGE' ? new RangeError(message) : new Error(message);
  return Object.assign(error, { code });
}

function checkProbability(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!(value >= 0 && value <= 1)) {
    throw apiError('ERR_OUT_OF_RANGE', `impairment ${name} must be a probability in [0, 1], got ${value}`);
  }
}

function checkNonNegative(name: string, value: number | undefined, allowInfinity: boolean): void {
  if (value === undefined) return;
  if (!(value >= 0) || (!allowInfinity && !Number.isFinite(value))) {
    throw apiError('ERR_OUT_OF_RANGE', `impairment ${name} must be a non-negative number, got ${value}`);
  }
}

/**
 * Throws a `RangeError` with code `ERR_OUT_OF_RANGE` when a field is out of its range; returns
 * the impairments otherwise.
 */
export function validateImpairments(impairments: Impairments): Impairments {
  const { loss } = impairments;
  if (typeof loss === 'object') {
    checkProbability('loss.p', loss.p);
    checkProbability('loss.r', loss.r);
    checkProbability('loss.lossInBad', loss.lossInBad);
    checkProbability('loss.lossInGood', loss.lossInGood);
  } else {
    checkProbability('loss', loss);
  }
  checkProbability('reorder', impairments.reorder);
  checkProbability('duplicate', impairments.duplicate);
  checkProbability('corrupt', impairments.corrupt);
  checkNonNegative('delay', impairments.delay, false);
  checkNonNegative('jitter', impairments.jitter, false);
  checkNonNegative('queueBytes', impairments.queueBytes, true);
  checkNonNegative('mtu', impairments.mtu, false);
  const rate = impairments.rateBitsPerSecond;
  if (rate !== undefined && !(rate > 0)) {
    throw apiError('ERR_OUT_OF_RANGE', `impairment rateBitsPerSecond must be positive, got ${rate}`);
  }
  return impairments;
}

/** True when the impairments may flip bits (so a link must not promise `noChecksums`). */
export function corrupts(impairments: Impairments): boolean {
  return (impairments.corrupt ?? 0) > 0;
}

/** Throws a `RangeError` with code `ERR_OUT_OF_RANGE` unless `mtu` is a positive integer. */
export function checkMtu(mtu: number): void {
  if (!(Number.isInteger(mtu) && mtu > 0)) {
    throw apiError('ERR_OUT_OF_RANGE', `mtu must be a positive integer, got ${mtu}`);
  }
}
