/** MUST-58/59: a received batch is processed whole before it is acknowledged. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tcb } from '../../src/core/tcp/tcb.ts';
import { TCP_ACK } from '../../src/wire/tcp.ts';
import { parseTcpOptions } from '../../src/wire/tcp-options.ts';
import { ipv4FrameOf } from '../helpers/frames.ts';
import { connectedPair, payload, tcpBytes, tcpOfFrame } from './tcp-helpers.ts';

const MSS = 1000;

/** Data segments `order` (default 0..n-1, of MSS bytes from the client's SND.NXT) as frames b receives. */
function batch(pair: ReturnType<typeof connectedPair>, n: number, order: number[] = []) {
  const { a, b, client } = pair;
  const ct = (client as unknown as { tcb: Tcb }).tcb;
  const frames: Uint8Array[] = [];
  const idx = order.length > 0 ? order : Array.from({ length: n }, (_, i) => i);
  for (const i of idx) {
    const seg = tcpBytes(
      a.ip,
      b.ip,
      {
        srcPort: client.localPort,
        dstPort: 80,
        seqNumber: (ct.sndNxt + i * MSS) >>> 0,
        ackNumber: ct.rcvNxt,
        flags: TCP_ACK,
        window: 65535,
      },
      payload(MSS, i + 1),
    );
    frames.push(
      ipv4FrameOf(
        seg,
        { src: a.ip, dst: b.ip, protocol: 6, ttl: 64 },
        { src: a.iface.mac, dst: b.iface.mac },
      ),
    );
  }
  return frames;
}

/** Counts the pure ACKs b sends from now on. */
function ackCounter(pair: ReturnType<typeof connectedPair>) {
  const acked: number[] = [];
  pair.b.iface.addObserver((dir, f) => {
    const t = tcpOfFrame(f);
    if (dir === 'tx' && t !== undefined && t.len === 0 && t.flags === TCP_ACK) acked.push(t.ack);
  });
  return { count: () => acked.length, acked };
}

describe('ACKs for a received batch (RFC 9293 3.10.7.4 MUST-58, MUST-59)', () => {
  test('10 in-order segments in one receive() during quick-ack: one ACK, after all of them', () => {
    const pair = connectedPair(61);
    const ct = (pair.client as unknown as { tcb: Tcb }).tcb;
    const acks = ackCounter(pair);
    pair.b.iface.receive(batch(pair, 10));
    assert.equal(acks.count(), 1, 'one ACK for the batch');
    assert.equal(acks.acked[0], (ct.sndNxt + 10 * MSS) >>> 0, 'it acknowledges all ten');
    assert.equal(pair.server.readableLength, 10 * MSS);
  });

  test('after quick-ack: a batch of 10 gets one ACK (every second segment, SHLD-19), a single segment waits for the delayed-ACK timer (MUST-40)', () => {
    const pair = connectedPair(62);
    const st = (pair.server as unknown as { tcb: Tcb }).tcb;
    st.quickAcks = 0;
    const acks = ackCounter(pair);
    pair.b.iface.receive(batch(pair, 10));
    assert.equal(acks.count(), 1);
    // One more segment alone: no ACK at once, one within 40 ms.
    const ct = (pair.client as unknown as { tcb: Tcb }).tcb;
    ct.sndNxt = (ct.sndNxt + 10 * MSS) >>> 0;
    const t0 = pair.sim.now;
    pair.b.iface.receive(batch(pair, 1));
    assert.equal(acks.count(), 1);
    assert.ok(pair.sim.runUntil(() => acks.count() === 2, 1000));
    assert.ok(pair.sim.now - t0 <= 40, `${pair.sim.now - t0} ms`);
  });

  test('out-of-order segments in a batch are each acknowledged at once (RFC 5681 4.2), with SACK blocks', () => {
    const pair = connectedPair(63);
    const acks = ackCounter(pair);
    // Segment 0 is missing: 1..4 arrive, each a duplicate ACK for the sender's fast retransmit.
    pair.b.iface.receive(batch(pair, 5, [1, 2, 3, 4]));
    assert.equal(acks.count(), 4);
  });
});

describe('D-SACK (RFC 2883)', () => {
  test('data received twice is reported once in a D-SACK block, first, below the ACK or inside the second block', () => {
    const pair = connectedPair(64);
    const blocks: Array<Array<{ left: number; right: number }>> = [];
    pair.b.iface.addObserver((dir, f) => {
      if (dir !== 'tx' || tcpOfFrame(f) === undefined) return;
      const ihl = (f[14]! & 0x0f) * 4;
      const t = 14 + ihl;
      const o = parseTcpOptions(f.subarray(t + 20, t + (f[t + 12]! >>> 4) * 4));
      if (o.ok) blocks.push(o.value.sackBlocks ?? []);
    });
    const ct = (pair.client as unknown as { tcb: Tcb }).tcb;
    const base = ct.sndNxt;
    // Segment 0 twice: the second is a duplicate below RCV.NXT.
    const [s0] = batch(pair, 1);
    pair.b.iface.receive([s0!]);
    pair.b.iface.receive([s0!]);
    assert.deepEqual(blocks.at(-1), [{ left: base, right: (base + MSS) >>> 0 }]);
    // Segment 2 (out of order) twice: the D-SACK block, then the range holding it.
    const [, , s2] = batch(pair, 3);
    pair.b.iface.receive([s2!]);
    pair.b.iface.receive([s2!]);
    const r2 = { left: (base + 2 * MSS) >>> 0, right: (base + 3 * MSS) >>> 0 };
    assert.deepEqual(blocks.at(-1), [r2, r2]);
    // Reported once: the next ACK carries only the range.
    const [, , , s3] = batch(pair, 4);
    pair.b.iface.receive([s3!]);
    assert.deepEqual(blocks.at(-1), [{ left: r2.left, right: (base + 4 * MSS) >>> 0 }]);
  });
});
