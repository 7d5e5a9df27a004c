/** Header prediction (input.ts `predicted`): the common segments take it, the unusual ones do not. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tcb } from '../../src/core/tcp/tcb.ts';
import { TCP_ACK, TCP_PSH } from '../../src/wire/tcp.ts';
import { collect, connectedPair, injectTcp, payload, sendAll, sha256 } from './tcp-helpers.ts';

describe('TCP header prediction', () => {
  test('a bulk transfer: nearly every data segment and ACK is predicted, the stream arrives whole', () => {
    const pair = connectedPair(81, { delay: 5 });
    const data = payload(2_000_000, 3);
    const got = collect(pair.server);
    sendAll(pair.client, data);
    assert.ok(pair.sim.runUntil(got.ended, 120_000));
    assert.equal(sha256(got.chunks), sha256([data]));
    const sent = pair.client.info().segsOut;
    const atB = pair.b.stack.counters.value('tcp.rx.predicted');
    const atA = pair.a.stack.counters.value('tcp.rx.predicted');
    // b: every data segment but the FIN's; a: every ACK after the handshake but the FIN's exchange.
    assert.ok(atB >= sent - 4, `b predicted ${atB} of ${sent}`);
    assert.ok(atA >= pair.server.info().segsOut - 4, `a predicted ${atA} of ${pair.server.info().segsOut}`);
  });

  test('out-of-order data, an old timestamp (PAWS) and an ACK beyond SND.MAX take the full path', () => {
    const pair = connectedPair(82);
    const st = (pair.server as unknown as { tcb: Tcb }).tcb;
    const ct = (pair.client as unknown as { tcb: Tcb }).tcb;
    const counter = () => pair.b.stack.counters.value('tcp.rx.predicted');
    const base = { srcPort: pair.client.localPort, dstPort: 80, flags: TCP_ACK | TCP_PSH, window: 65535 };
    const ts = (value: number) => ({ timestamp: { value, echo: st.tsNow() } });
    const before = counter();
    // Beyond a hole: held out of order, not predicted.
    injectTcp(
      pair.a,
      pair.b,
      pair.a.ip,
      { ...base, seqNumber: (st.rcvNxt + 100) >>> 0, ackNumber: st.sndNxt, options: ts(st.tsRecent) },
      payload(10, 1),
    );
    // Older than TS.Recent: PAWS drops it (RFC 7323 5.3).
    injectTcp(
      pair.a,
      pair.b,
      pair.a.ip,
      { ...base, seqNumber: st.rcvNxt, ackNumber: st.sndNxt, options: ts((st.tsRecent - 1000) >>> 0) },
      payload(10, 2),
    );
    // Acknowledges what was never sent: a challenge ACK (RFC 5961 5.2), the data not taken.
    injectTcp(
      pair.a,
      pair.b,
      pair.a.ip,
      { ...base, seqNumber: st.rcvNxt, ackNumber: (st.sndMax + 1000) >>> 0, options: ts(st.tsRecent) },
      payload(10, 3),
    );
    pair.sim.advance(10);
    assert.equal(counter(), before);
    assert.equal(pair.server.readableLength, 0);
    assert.equal(st.receiveQueue.outOfOrderBytes, 10);
    // The segment at RCV.NXT with a fresh timestamp is predicted and fills the hole.
    injectTcp(
      pair.a,
      pair.b,
      pair.a.ip,
      { ...base, seqNumber: st.rcvNxt, ackNumber: st.sndNxt, options: ts(st.tsRecent + 1) },
      payload(100, 4),
    );
    pair.sim.advance(10);
    assert.equal(counter(), before + 1);
    assert.equal(pair.server.readableLength, 110);
    assert.ok(ct.tsOk && st.tsOk);
  });
});
