import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Prr } from '../../../src/core/tcp/congestion/prr.ts';

const MSS = 1000;

/** Runs PRR over a recovery where each ACK delivers one segment; returns sndcnt per ACK (in MSS). */
function run(prr: Prr, pipes: number[]): number[] {
  return pipes.map((pipe) => {
    const sndcnt = prr.onAck(MSS, pipe);
    prr.onSend(sndcnt);
    return sndcnt / MSS;
  });
}

describe('PRR (RFC 6937)', () => {
  test('RFC 6937 example, in segments: Reno (ssthresh = RecoverFS/2) sends one segment per two ACKs', () => {
    // 20 segments in flight, one lost; each ACK delivers one segment and pipe falls by one per
    // ACK without transmissions. Counting in segments (MSS = 1) as the RFC's table does.
    const prr = new Prr(1);
    prr.start(10, 20);
    let pipe = 19;
    const sent: number[] = [];
    for (let i = 0; i < 19; i++) {
      pipe -= 1;
      const sndcnt = prr.onAck(1, pipe);
      prr.onSend(sndcnt);
      pipe += sndcnt;
      sent.push(sndcnt);
    }
    // ceil(prr_delivered * 10 / 20) - prr_out alternates 1, 0, 1, 0 ...
    assert.deepEqual(sent.slice(0, 8), [1, 0, 1, 0, 1, 0, 1, 0]);
    assert.equal(
      sent.reduce((a, b) => a + b, 0),
      10,
    );
    assert.equal(pipe, 10);
  });

  test('in bytes, each delivered MSS allows half an MSS (the engine batches into segments)', () => {
    const prr = new Prr(MSS);
    prr.start(10 * MSS, 20 * MSS);
    assert.deepEqual(run(prr, [18 * MSS, 17.5 * MSS, 17 * MSS]), [0.5, 0.5, 0.5]);
  });

  test('CUBIC-like ssthresh = 0.7 RecoverFS sends 7 segments per 10 ACKs', () => {
    const prr = new Prr(MSS);
    prr.start(14 * MSS, 20 * MSS);
    const sent = run(
      prr,
      Array.from({ length: 10 }, () => 18 * MSS),
    );
    assert.equal(
      sent.reduce((a, b) => a + b * MSS, 0),
      7 * MSS,
    );
  });

  test('PRR-SSRB: after heavy loss (pipe below ssthresh) it grows back like slow start', () => {
    // RFC 6937 example of a burst loss: pipe falls below ssthresh; each ACK delivering one
    // segment allows two (the delivered one plus one MSS) until pipe reaches ssthresh.
    const prr = new Prr(MSS);
    prr.start(10 * MSS, 20 * MSS);
    let pipe = 4 * MSS;
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) {
      pipe -= MSS;
      const sndcnt = prr.onAck(MSS, pipe);
      prr.onSend(sndcnt);
      pipe += sndcnt;
      sent.push(sndcnt / MSS);
    }
    assert.deepEqual(sent, [2, 2, 2, 2, 2]);
    assert.equal(pipe, 9 * MSS);
    // Never beyond ssthresh.
    pipe -= MSS;
    const last = prr.onAck(MSS, pipe);
    assert.equal(last, 2 * MSS);
    assert.equal(prr.onAck(MSS, 10 * MSS), 0);
  });

  test('sndcnt is never negative; start resets the counters', () => {
    const prr = new Prr(MSS);
    prr.start(10 * MSS, 20 * MSS);
    prr.onSend(15 * MSS);
    assert.equal(prr.onAck(MSS, 15 * MSS), 0);
    prr.start(5 * MSS, 10 * MSS);
    assert.equal(prr.delivered, 0);
    assert.equal(prr.out, 0);
    assert.equal(prr.onAck(2 * MSS, 8 * MSS), MSS);
  });
});
