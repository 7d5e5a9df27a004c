import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rack, type RackAck, tlpTimeout } from '../../../src/core/tcp/rack.ts';

const b = (left: number, right: number) => ({ left, right });

function ack(
  rack: Rack,
  now: number,
  cumAck: number,
  sacked: Array<{ left: number; right: number }>,
  extra: Partial<RackAck> = {},
): void {
  rack.onAck({ now, cumAck, sacked, dsack: false, sndNxt: 10_000, srtt: 100, inRecovery: false, ...extra });
}

/** Sends segments of 100 bytes [i*100, i*100+100) for i in [from, to) at `now`. */
function send(rack: Rack, from: number, to: number, now: number): void {
  for (let i = from; i < to; i++) rack.onSend(i * 100, i * 100 + 100, now);
}

describe('RACK (RFC 8985)', () => {
  test('a segment sent before a delivered one is lost after RTT + reo_wnd (min_RTT / 4)', () => {
    const rack = new Rack();
    send(rack, 0, 1, 0);
    ack(rack, 100, 100, []); // min_RTT = 100
    send(rack, 1, 4, 200); // P1, P2, P3 at t=200
    ack(rack, 300, 100, [b(300, 400)]); // P3 SACKed, P1 and P2 not
    assert.equal(rack.rtt, 100);
    assert.equal(rack.reorderWindow, 25);
    let loss = rack.detectLoss(300);
    assert.deepEqual(loss.lost, []);
    assert.equal(loss.reorderTimeout, 25); // 200 + 100 + 25 - 300
    loss = rack.detectLoss(325);
    assert.deepEqual(loss.lost, [b(100, 200), b(200, 300)]);
    assert.equal(loss.reorderTimeout, undefined);
    assert.ok(rack.isLost(150));
    // Reported once.
    assert.deepEqual(rack.detectLoss(400).lost, []);
  });

  test('no reordering seen: during recovery (or with DupThresh SACKed) the window is zero', () => {
    const rack = new Rack();
    send(rack, 0, 1, 0);
    ack(rack, 50, 100, []);
    send(rack, 1, 3, 100);
    ack(rack, 150, 100, [b(200, 300)], { inRecovery: true });
    assert.equal(rack.reorderWindow, 0);
    assert.deepEqual(rack.detectLoss(150).lost, [b(100, 200)]);
    const many = new Rack();
    send(many, 0, 1, 0);
    ack(many, 50, 100, []);
    send(many, 1, 5, 100);
    ack(many, 150, 100, [b(200, 500)]);
    assert.equal(many.reorderWindow, 0);
  });

  test('reordering: a later delivery of a lower segment sets reordering_seen, keeping the window', () => {
    const rack = new Rack();
    send(rack, 0, 3, 0);
    ack(rack, 80, 0, [b(200, 300)]);
    assert.ok(!rack.reorderingSeen);
    ack(rack, 90, 0, [b(100, 300)]); // P2 arrives after P3: reordering
    assert.ok(rack.reorderingSeen);
    ack(rack, 100, 0, [b(100, 300)], { inRecovery: true });
    assert.equal(rack.reorderWindow, 80 / 4);
  });

  test('D-SACK grows reo_wnd_mult once per round trip; 16 recoveries without D-SACK reset it', () => {
    const rack = new Rack();
    send(rack, 0, 1, 0);
    ack(rack, 40, 100, []);
    assert.equal(rack.reorderWindow, 10);
    ack(rack, 50, 100, [], { dsack: true, sndNxt: 1000 });
    assert.equal(rack.reoWndMult, 2);
    ack(rack, 60, 100, [], { dsack: true, sndNxt: 1000 }); // same round: no growth
    assert.equal(rack.reoWndMult, 2);
    ack(rack, 70, 1000, [], { dsack: true, sndNxt: 2000 }); // round over
    assert.equal(rack.reoWndMult, 3);
    assert.equal(rack.reorderWindow, 30);
    // Bounded by SRTT.
    ack(rack, 80, 1000, [], { srtt: 20 });
    assert.equal(rack.reorderWindow, 20);
    for (let i = 0; i < 15; i++) rack.onRecoveryEnd();
    assert.equal(rack.reoWndMult, 3);
    rack.onRecoveryEnd();
    assert.equal(rack.reoWndMult, 1);
  });

  test('retransmissions: split on resend, ambiguous fast ACKs do not update RACK.rtt', () => {
    const rack = new Rack();
    send(rack, 0, 1, 0);
    ack(rack, 100, 100, []); // min_RTT 100
    rack.onSend(100, 400, 200);
    rack.onSend(150, 250, 500); // retransmission of part of it: split into pieces
    assert.equal(rack.size, 3);
    // ACK of [150, 250) 10 ms after the retransmission: must be the original's, RTT not taken.
    ack(rack, 510, 100, [b(150, 250)]);
    assert.equal(rack.rtt, 100);
    // P [100,150) was sent at 200, before the segment RACK trusts (sent at 0): not lost.
    assert.deepEqual(rack.detectLoss(600).lost, []);
  });

  test('RTO (6.3): the first outstanding segment is lost, others only if old enough', () => {
    const rack = new Rack();
    send(rack, 0, 1, 0);
    ack(rack, 100, 100, []);
    send(rack, 1, 3, 200);
    send(rack, 3, 5, 1000);
    const lost = rack.onTimeout(1100);
    assert.deepEqual(lost, [b(100, 200), b(200, 300)]);
    rack.onSend(100, 200, 1100);
    assert.ok(!rack.isLost(150));
  });

  test('TLP probe timeout (7.2)', () => {
    assert.equal(tlpTimeout(100, 1000, 1000, 10_000), 200 + 200); // one segment: + WCDelAckT
    assert.equal(tlpTimeout(100, 5000, 1000, 10_000), 200);
    assert.equal(tlpTimeout(undefined, 5000, 1000, 10_000), 1000);
    assert.equal(tlpTimeout(100, 5000, 1000, 150), 150); // never after the RTO
    assert.equal(tlpTimeout(100, 1000, 1000, 10_000, 25), 225);
  });
});

describe('RACK bounds and accounting', () => {
  test('beyond maxSegments new data joins the last segment, counted; inFlight and lostBytes stay exact', () => {
    const rack = new Rack(4);
    send(rack, 0, 10, 0);
    assert.equal(rack.size, 4);
    assert.equal(rack.coalesced, 6);
    assert.equal(rack.inFlight, 1000);
    // The merged segment [300, 1000) counts as one, sent at the last time.
    ack(rack, 100, 0, [b(300, 1000)]);
    assert.equal(rack.inFlight, 300);
    const loss = rack.detectLoss(1000);
    assert.deepEqual(loss.lost, [b(0, 100), b(100, 200), b(200, 300)]);
    assert.equal(rack.inFlight, 0);
    assert.equal(rack.lostBytes, 300);
    assert.deepEqual(rack.nextLost(0), { seq: 0, length: 100 });
    rack.onSend(0, 100, 1000);
    assert.equal(rack.lostBytes, 200);
    assert.equal(rack.inFlight, 100);
    assert.deepEqual(rack.nextLost(100), { seq: 100, length: 100 });
    ack(rack, 1100, 1000, []);
    assert.equal(rack.size, 0);
    assert.equal(rack.inFlight, 0);
    assert.equal(rack.lostBytes, 0);
  });

  test('a flood of 100,000 segments in flight: detection per ACK looks only at what was sent before', () => {
    const rack = new Rack();
    for (let i = 0; i < 100_000; i++) rack.onSend(i * 100, i * 100 + 100, i);
    assert.ok(rack.size <= 16384);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      rack.onAck({
        now: 200_000 + i,
        cumAck: (i + 1) * 100,
        sacked: [],
        dsack: false,
        sndNxt: 10_000_000,
        srtt: 100,
        inRecovery: false,
      });
      rack.detectLoss(200_000 + i);
    }
    assert.ok(performance.now() - t0 < 1000);
  });

  test('forgetSacks: a reneging receiver makes SACKed segments lost again', () => {
    const rack = new Rack();
    send(rack, 0, 3, 0);
    ack(rack, 50, 0, [b(100, 300)]);
    assert.equal(rack.inFlight, 100);
    rack.forgetSacks();
    assert.equal(rack.lostBytes, 200);
    assert.deepEqual(rack.nextLost(0), { seq: 100, length: 100 });
  });
});
