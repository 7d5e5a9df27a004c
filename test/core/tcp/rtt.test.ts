import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { INITIAL_RTO, MAX_RTO, MIN_RTO, RttEstimator } from '../../../src/core/tcp/rtt.ts';

describe('RTT estimator (RFC 6298)', () => {
  test('initial RTO is 1 s (2.1), with no SRTT yet', () => {
    const r = new RttEstimator();
    assert.equal(r.rto, INITIAL_RTO);
    assert.equal(r.srtt, undefined);
    assert.equal(r.rttvar, undefined);
  });

  test('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) (2.2)', () => {
    const r = new RttEstimator();
    r.sample(300);
    assert.equal(r.srtt, 300);
    assert.equal(r.rttvar, 150);
    assert.equal(r.rto, 300 + 4 * 150);
  });

  test('later samples follow 2.3 with alpha 1/8 and beta 1/4, RTTVAR updated with the old SRTT', () => {
    const r = new RttEstimator();
    let srtt = 0;
    let rttvar = 0;
    const samples = [400, 480, 350, 900, 410, 405, 395];
    samples.forEach((s, i) => {
      r.sample(s);
      if (i === 0) {
        srtt = s;
        rttvar = s / 2;
      } else {
        rttvar = 0.75 * rttvar + 0.25 * Math.abs(srtt - s);
        srtt = 0.875 * srtt + 0.125 * s;
      }
      assert.ok(Math.abs((r.srtt ?? 0) - srtt) < 1e-9);
      assert.ok(Math.abs((r.rttvar ?? 0) - rttvar) < 1e-9);
      assert.ok(Math.abs(r.rto - Math.max(MIN_RTO, srtt + Math.max(1, 4 * rttvar))) < 1e-9);
    });
  });

  test('clock granularity G = 1 ms applies when RTTVAR is tiny; the minimum is 200 ms (Linux)', () => {
    const r = new RttEstimator({ minRto: 0 });
    for (let i = 0; i < 200; i++) r.sample(50);
    assert.ok(Math.abs(r.rto - 51) < 0.01, `rto ${r.rto}`);
    const linux = new RttEstimator();
    for (let i = 0; i < 200; i++) linux.sample(50);
    assert.equal(linux.rto, MIN_RTO);
  });

  test('backoff doubles up to 120 s (5.5); a new sample resets it', () => {
    const r = new RttEstimator();
    r.sample(1000);
    const base = r.rto;
    r.backoff();
    assert.equal(r.rto, 2 * base);
    assert.equal(r.backoffCount, 1);
    for (let i = 0; i < 20; i++) r.backoff();
    assert.equal(r.rto, MAX_RTO);
    r.sample(1000);
    assert.equal(r.backoffCount, 0);
    assert.ok(r.rto < MAX_RTO && r.rto >= 1000);
  });

  test('a huge sample is capped at the maximum', () => {
    const r = new RttEstimator();
    r.sample(100_000);
    assert.equal(r.rto, MAX_RTO);
  });
});
