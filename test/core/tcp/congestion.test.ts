import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CONGESTION_CONTROL_NAMES,
  type CongestionControl,
  createCongestionControl,
  DEFAULT_CONGESTION_CONTROL,
  isCongestionControlName,
} from '../../../src/core/tcp/congestion/controller.ts';
import { CUBIC_ALPHA, Cubic, cubicK, wCubic } from '../../../src/core/tcp/congestion/cubic.ts';
import { INFINITE_SSTHRESH, initialWindow, NewReno } from '../../../src/core/tcp/congestion/newreno.ts';

const MSS = 1000;

/**
 * Acknowledges `rounds` round trips of a full window, one ACK per MSS, spread evenly over `rtt`
 * ms from `now`. Returns the time after the last round.
 */
function ackRounds(cc: CongestionControl, rounds: number, rtt: number, now: number): number {
  let t = now;
  for (let r = 0; r < rounds; r++) {
    const segments = Math.max(1, Math.floor(cc.cwnd / MSS));
    for (let i = 0; i < segments; i++) {
      t += rtt / segments;
      cc.onAck(MSS, rtt, t, cc.cwnd);
    }
  }
  return t;
}

describe('congestion control registry', () => {
  test('names, default and errors', () => {
    assert.deepEqual([...CONGESTION_CONTROL_NAMES], ['cubic', 'newreno']);
    assert.equal(DEFAULT_CONGESTION_CONTROL, 'cubic');
    for (const name of CONGESTION_CONTROL_NAMES) {
      const cc = createCongestionControl(name, 1460, 0);
      assert.equal(cc.name, name);
      assert.equal(cc.cwnd, 14_600);
      assert.equal(cc.ssthresh, INFINITE_SSTHRESH);
    }
    assert.ok(isCongestionControlName('newreno') && !isCongestionControlName('bbr'));
    assert.throws(() => createCongestionControl('bbr', 1460, 0), { code: 'EINVAL' });
    assert.throws(() => createCongestionControl('cubic', 0, 0), { code: 'EINVAL' });
  });
});

describe('NewReno (RFC 5681, RFC 3465, RFC 6928)', () => {
  test('initial window: min(10 MSS, max(2 MSS, 14600))', () => {
    assert.equal(initialWindow(1460), 14_600);
    assert.equal(initialWindow(536), 5360);
    assert.equal(initialWindow(9000), 18_000);
    assert.equal(initialWindow(1000), 10_000);
  });

  test('slow start with ABC: at most 2 MSS per ACK, doubling per round trip', () => {
    const cc = new NewReno(MSS, 0);
    cc.onAck(5 * MSS, 10, 1, 10 * MSS); // a stretch ACK of 5 segments grows cwnd by L = 2 MSS
    assert.equal(cc.cwnd, 12 * MSS);
    cc.onAck(500, 10, 2, 10 * MSS);
    assert.equal(cc.cwnd, 12 * MSS + 500);
    const fresh = new NewReno(MSS, 0);
    ackRounds(fresh, 1, 100, 0);
    assert.equal(fresh.cwnd, 20 * MSS);
    cc.onAck(0, undefined, 3, 0);
    assert.equal(cc.cwnd, 12 * MSS + 500);
  });

  test('congestion avoidance: one MSS per window of acknowledged bytes', () => {
    const cc = new NewReno(MSS, 0);
    cc.ssthresh = 10 * MSS;
    assert.ok(!cc.inSlowStart);
    for (let i = 0; i < 9; i++) cc.onAck(MSS, 10, i, 10 * MSS);
    assert.equal(cc.cwnd, 10 * MSS);
    cc.onAck(MSS, 10, 10, 10 * MSS);
    assert.equal(cc.cwnd, 11 * MSS);
    ackRounds(cc, 5, 100, 100);
    assert.equal(cc.cwnd, 16 * MSS);
  });

  test('loss: ssthresh = max(FlightSize / 2, 2 MSS); recovery ends at ssthresh', () => {
    const cc = new NewReno(MSS, 0);
    cc.cwnd = 40 * MSS;
    cc.onLoss(1, 30 * MSS);
    assert.equal(cc.ssthresh, 15 * MSS);
    assert.equal(cc.cwnd, 15 * MSS);
    cc.cwnd = 3 * MSS; // PRR took it lower
    cc.onRecoveryEnd(2);
    assert.equal(cc.cwnd, 15 * MSS);
    cc.onLoss(3, MSS);
    assert.equal(cc.ssthresh, 2 * MSS);
  });

  test('timeout: loss window of one MSS; a repeated timeout holds ssthresh', () => {
    const cc = new NewReno(MSS, 0);
    cc.cwnd = 40 * MSS;
    cc.onTimeout(1, 40 * MSS);
    assert.equal(cc.cwnd, MSS);
    assert.equal(cc.ssthresh, 20 * MSS);
    cc.onTimeout(2, MSS);
    assert.equal(cc.ssthresh, 20 * MSS);
    cc.onAck(MSS, undefined, 3, MSS);
    assert.equal(cc.cwnd, 2 * MSS); // slow start again
    cc.onTimeout(4, 2 * MSS); // new data was acknowledged in between: a new event
    assert.equal(cc.ssthresh, 2 * MSS);
  });

  test('restart after idle: cwnd = min(cwnd, IW) (RFC 5681 4.1); MSS change keeps one segment', () => {
    const cc = new NewReno(MSS, 0);
    cc.cwnd = 50 * MSS;
    cc.onIdle(5000, 1000);
    assert.equal(cc.cwnd, 10 * MSS);
    cc.cwnd = 4 * MSS;
    cc.onIdle(9000, 1000);
    assert.equal(cc.cwnd, 4 * MSS);
    cc.cwnd = 500;
    cc.setMss(1400);
    assert.equal(cc.cwnd, 1400);
  });
});

describe('CUBIC (RFC 9438)', () => {
  /** A CUBIC sender that has just reduced from a window of `w` MSS. */
  function afterLoss(w: number): Cubic {
    const cc = new Cubic(MSS, 0);
    cc.cwnd = w * MSS;
    cc.onLoss(0, w * MSS);
    return cc;
  }

  test('multiplicative decrease by beta 0.7 and W_max', () => {
    const cc = afterLoss(100);
    assert.equal(cc.ssthresh, 70 * MSS);
    assert.equal(cc.cwnd, 70 * MSS);
    assert.equal(cc.wMax, 100 * MSS);
    assert.ok(Math.abs(cubicK(100, 70) - Math.cbrt(75)) < 1e-12);
    assert.ok(Math.abs(CUBIC_ALPHA - 0.9 / 1.7) < 1e-12);
  });

  test('the window follows the cubic curve and reaches W_max at K, then probes above it', () => {
    const cc = afterLoss(100);
    cc.onRecoveryEnd(0);
    const rtt = 100;
    const k = Math.cbrt((100 * 0.3) / 0.4); // about 4.22 s
    let now = 0;
    const samples: Array<[number, number]> = [];
    while (now < 8000) {
      now = ackRounds(cc, 1, rtt, now);
      samples.push([now / 1000, cc.cwnd / MSS]);
    }
    assert.ok(Math.abs(cc.epochK - k) < 1e-9);
    for (const [t, w] of samples) {
      // Aiming one RTT ahead, the window stays within a few segments of W_cubic(t + RTT).
      const expected = wCubic(t, k, 100);
      assert.ok(w >= expected - 3 && w <= wCubic(t + 0.2, k, 100) + 3, `t=${t} w=${w} expected ${expected}`);
    }
    const at = (t: number) => (samples.find(([ts]) => ts >= t) as [number, number])[1];
    assert.ok(Math.abs(at(k) - 100) < 3, `cwnd at K ${at(k)}`);
    // Concave before K (growth slows approaching W_max), convex after (growth speeds up).
    const growth = (a: number, b: number) => at(b) - at(a);
    assert.ok(growth(0.5, 1.5) > growth(2.5, 3.5));
    assert.ok(growth(3.7, 4.7) < growth(5.5, 6.5));
    assert.ok(growth(5.5, 6.5) < growth(6.5, 7.5));
    assert.ok(at(7.9) > 110);
  });

  test('Reno-friendly region dominates with a short RTT and a small window', () => {
    const cc = afterLoss(20);
    cc.onRecoveryEnd(0);
    const rtt = 1;
    const now = ackRounds(cc, 100, rtt, 0); // 100 round trips in 0.1 s
    const t = now / 1000;
    const cubicWindow = wCubic(t, cubicK(20, 14), 20);
    // W_est: 14 MSS + alpha per RTT until 20 MSS (cwnd_prior), then 1 per RTT.
    const toPrior = 6 / CUBIC_ALPHA;
    const west = 20 + (100 - toPrior);
    assert.ok(cubicWindow < 20);
    assert.ok(Math.abs(cc.cwnd / MSS - west) < 5, `cwnd ${cc.cwnd / MSS} vs W_est ${west}`);
  });

  test('fast convergence lowers W_max when the window shrank since the last loss', () => {
    const cc = afterLoss(100);
    cc.cwnd = 80 * MSS;
    cc.onLoss(1000, 80 * MSS);
    assert.ok(Math.abs((cc.wMax ?? 0) - (80 * MSS * 1.7) / 2) < 1e-6);
    assert.equal(cc.ssthresh, 56 * MSS);
    // A loss above the previous maximum records the window as is.
    cc.cwnd = 120 * MSS;
    cc.onLoss(2000, 120 * MSS);
    assert.equal(cc.wMax, 120 * MSS);
  });

  test('RTO: loss window, ssthresh by beta, then K = 0 from the window at the epoch start', () => {
    const cc = afterLoss(100);
    cc.cwnd = 60 * MSS;
    cc.onTimeout(500, 60 * MSS);
    assert.equal(cc.cwnd, MSS);
    assert.equal(cc.ssthresh, 42 * MSS);
    assert.equal(cc.wMax, undefined);
    let now = 500;
    while (cc.inSlowStart) now = ackRounds(cc, 1, 100, now);
    const start = cc.cwnd;
    now = ackRounds(cc, 1, 100, now);
    assert.equal(cc.epochK, 0);
    // Convex from the start: the window grows from where the epoch began.
    assert.ok(cc.cwnd >= start);
    now = ackRounds(cc, 20, 100, now);
    assert.ok(cc.cwnd > start + 2 * MSS);
  });

  test('restart after idle caps the window and starts a new epoch', () => {
    const cc = afterLoss(100);
    cc.onRecoveryEnd(0);
    let now = ackRounds(cc, 10, 100, 0);
    cc.onIdle(now + 5000, 300);
    assert.equal(cc.cwnd, 10 * MSS);
    // Slow start does not resume (cwnd < ssthresh: it does, as RFC 5681 4.1 intends).
    assert.ok(cc.inSlowStart);
    now = ackRounds(cc, 1, 100, now + 5000);
    assert.equal(cc.cwnd, 20 * MSS);
  });
});
