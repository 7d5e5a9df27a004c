/** The engine's pure decisions (src/core/tcp/rules.ts), without a network. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ackDecision,
  PAWS_WINDOW,
  pawsRejects,
  receiveWindow,
  type SendState,
  segmentAcceptable,
  sendDecision,
  updatesSendWindow,
  updatesTsRecent,
} from '../../../src/core/tcp/rules.ts';

describe('segment acceptability (RFC 9293 3.10.7.4)', () => {
  const nxt = 1000;
  test('the four cases of the table', () => {
    // len 0, wnd 0: only SEG.SEQ = RCV.NXT.
    assert.equal(segmentAcceptable(1000, 0, nxt, 0), true);
    assert.equal(segmentAcceptable(1001, 0, nxt, 0), false);
    assert.equal(segmentAcceptable(999, 0, nxt, 0), false);
    // len 0, wnd > 0: RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND.
    assert.equal(segmentAcceptable(1000, 0, nxt, 100), true);
    assert.equal(segmentAcceptable(1099, 0, nxt, 100), true);
    assert.equal(segmentAcceptable(1100, 0, nxt, 100), false);
    assert.equal(segmentAcceptable(999, 0, nxt, 100), false);
    // len > 0, wnd 0: never.
    assert.equal(segmentAcceptable(1000, 1, nxt, 0), false);
    // len > 0, wnd > 0: the first or the last octet in the window.
    assert.equal(segmentAcceptable(1000, 50, nxt, 100), true);
    assert.equal(segmentAcceptable(950, 51, nxt, 100), true, 'last octet at RCV.NXT');
    assert.equal(segmentAcceptable(950, 50, nxt, 100), false, 'ends just before RCV.NXT');
    assert.equal(segmentAcceptable(1099, 500, nxt, 100), true, 'starts at the last octet');
    assert.equal(segmentAcceptable(1100, 1, nxt, 100), false);
  });

  test('across the sequence-number wrap', () => {
    const top = 0xffff_fff0;
    assert.equal(segmentAcceptable(0x0000_0005, 10, top, 100), true);
    assert.equal(segmentAcceptable(0xffff_ffe0, 0x20, top, 100), true);
    assert.equal(segmentAcceptable(0xffff_ffe0, 0x10, top, 100), false);
  });

  test('property: the same as checking every octet by brute force for the first and last', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: -300, max: 300 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        (rcvNxt, offset, len, wnd) => {
          const seq = (rcvNxt + offset) >>> 0;
          const inWnd = (o: number) => o >= 0 && o < wnd;
          const expected =
            len === 0
              ? wnd === 0
                ? offset === 0
                : inWnd(offset)
              : wnd > 0 && (inWnd(offset) || inWnd(offset + len - 1));
          return segmentAcceptable(seq, len, rcvNxt, wnd) === expected;
        },
      ),
    );
  });
});

describe('timestamps (RFC 7323 4.3, 5.3)', () => {
  test('PAWS rejects TSval older than TS.Recent by more than one tick, across the wrap', () => {
    assert.equal(PAWS_WINDOW, 1);
    assert.equal(pawsRejects(100, 100), false);
    assert.equal(pawsRejects(99, 100), false, 'one tick: a retransmission overtaking originals');
    assert.equal(pawsRejects(98, 100), true);
    assert.equal(pawsRejects(200, 100), false);
    assert.equal(pawsRejects(0xffff_fffe, 3), true);
    assert.equal(pawsRejects(3, 0xffff_fffe), false);
  });

  test('TS.Recent follows SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent', () => {
    assert.equal(updatesTsRecent(1000, 50, 40, 1000), true);
    assert.equal(updatesTsRecent(900, 50, 40, 1000), true, 'a retransmission below the edge');
    assert.equal(updatesTsRecent(1001, 50, 40, 1000), false, 'out of order: beyond Last.ACK.sent');
    assert.equal(updatesTsRecent(1000, 39, 40, 1000), false, 'older timestamp');
    assert.equal(updatesTsRecent(1000, 40, 40, 1000), true);
  });
});

describe('send window update (RFC 9293 3.10.7.4, SND.WL1/WL2)', () => {
  test('newer segment, or same segment with a newer ACK; never an older one', () => {
    assert.equal(updatesSendWindow(100, 400, 101, 400, 400), true, 'SND.WL1 < SEG.SEQ');
    assert.equal(updatesSendWindow(100, 500, 100, 500, 500), true, 'same SEQ, same ACK (a window update)');
    assert.equal(updatesSendWindow(100, 500, 100, 600, 600), true);
    assert.equal(updatesSendWindow(100, 500, 100, 499, 500), false, 'reordered older ACK');
    assert.equal(updatesSendWindow(100, 500, 99, 900, 900), false, 'older segment');
    assert.equal(updatesSendWindow(0xffff_ffff, 0, 0, 0, 0), true, 'across the wrap');
  });

  test('only when SND.UNA =< SEG.ACK: a newer segment carrying an ACK below SND.UNA leaves the window', () => {
    assert.equal(updatesSendWindow(100, 500, 200, 450, 500), false);
    assert.equal(updatesSendWindow(100, 500, 200, 500, 500), true);
  });
});

describe('receiver SWS avoidance (RFC 9293 3.8.6.2.2, MUST-39; SHLD-14)', () => {
  const buf = 65536;
  const mss = 1460;
  test('the edge moves only by min(RCV.BUFF / 2, MSS) or more', () => {
    assert.equal(receiveWindow(10_000, 9_000, buf, mss), 9_000, 'opening by 1000 < MSS: held');
    assert.equal(receiveWindow(10_460, 9_000, buf, mss), 10_460, 'opening by one MSS');
    assert.equal(receiveWindow(100, 0, 150, mss), 100, 'small buffer: half of it is enough');
    assert.equal(receiveWindow(74, 0, 150, mss), 0);
  });

  test('never shrinks what was offered, whatever the free space', () => {
    assert.equal(receiveWindow(0, 5000, buf, mss), 5000);
    assert.equal(receiveWindow(-10, 5000, buf, mss), 5000);
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1 << 20 }), fc.nat(1 << 20), (free, current) => {
        const w = receiveWindow(free, current, buf, mss);
        return w >= current && (w === current || w === free);
      }),
    );
  });
});

describe('sender SWS avoidance and Nagle (RFC 9293 3.8.6.2.1 MUST-38, 3.7.4 SHLD-7)', () => {
  const base: SendState = {
    len: 1460,
    mss: 1460,
    available: 10_000,
    cwndRoom: 100_000,
    maxSndWnd: 65535,
    flight: 0,
    finQueued: false,
    noDelay: false,
  };
  const d = (s: Partial<SendState>) => sendDecision({ ...base, ...s });
  test('full segments go', () => {
    assert.equal(d({}), 'send');
    assert.equal(d({ flight: 50_000 }), 'send');
  });
  test('a segment cut short by the window: only if at least half the largest window, and not cwnd-limited', () => {
    assert.equal(d({ len: 1000 }), 'sws', 'window cut it, 1000 < 65535 / 2');
    assert.equal(d({ len: 1000, maxSndWnd: 1500 }), 'send', 'at least half the largest window');
    assert.equal(d({ len: 1000, maxSndWnd: 1500, cwndRoom: 1000 }), 'sws', 'cwnd is the limit');
  });
  test('a short last segment waits for the ACK of what is in flight (Nagle), unless NODELAY or FIN', () => {
    assert.equal(d({ len: 100, available: 100 }), 'send', 'nothing in flight');
    assert.equal(d({ len: 100, available: 100, flight: 1460 }), 'nagle');
    assert.equal(d({ len: 100, available: 100, flight: 1460, noDelay: true }), 'send', 'MUST-17');
    assert.equal(d({ len: 100, available: 100, flight: 1460, finQueued: true }), 'send');
  });
});

describe('when to ACK (RFC 9293 3.8.6.3, RFC 5681 4.2, MUST-58)', () => {
  const base = {
    inOrder: true,
    outOfOrderHeld: false,
    payload: 1000,
    unackedBytes: 1000,
    quickAcks: 0,
    rcvMss: 1000,
  };
  test('out of order or a hole: at once; FIN, quick-ack and every second segment: at the end of the batch; else delayed', () => {
    assert.equal(ackDecision({ ...base, inOrder: false }), 'at-once');
    assert.equal(ackDecision({ ...base, outOfOrderHeld: true }), 'at-once');
    assert.equal(ackDecision({ ...base, payload: 0 }), 'batch');
    assert.equal(ackDecision({ ...base, quickAcks: 3 }), 'batch');
    assert.equal(ackDecision({ ...base, unackedBytes: 2000 }), 'batch', 'SHLD-19');
    assert.equal(ackDecision({ ...base, unackedBytes: 1999 }), 'delay', 'MUST-40 bound by the timer');
  });
});
