/** RACK-TLP (RFC 8985) in simulation: tail loss probes, reordering, lost retransmissions, RTO marking. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collect, connectedPair, dropSent, payload, sendAll, sha256, tcpOfFrame } from './tcp-helpers.ts';

const MSS = 1448;

describe('RACK-TLP (RFC 8985)', () => {
  test('a lost tail is repaired by one loss probe and RACK, without a retransmission timeout (7.3, 7.4)', () => {
    const { sim, a, client, server } = connectedPair(51, { delay: 10 });
    // Warm up an RTT estimate, then send 10 segments and lose the last two.
    const warm = payload(1000, 1);
    client.write(warm);
    const got = collect(server);
    assert.ok(sim.runUntil(() => got.bytes() === warm.length, 1000));
    const base = (client as unknown as { tcb: { sndMax: number } }).tcb.sndMax;
    const tail = new Set([base + 8 * MSS, base + 9 * MSS].map((x) => x >>> 0));
    const dropped: number[] = [];
    const restore = dropSent(a, (f) => {
      const t = tcpOfFrame(f);
      if (t === undefined || t.len === 0 || !tail.has(t.seq) || dropped.includes(t.seq)) return false;
      dropped.push(t.seq);
      return true;
    });
    const d = payload(10 * MSS, 2);
    const start = sim.now;
    client.write(d);
    assert.ok(sim.runUntil(() => got.bytes() === warm.length + d.length, 5000));
    restore();
    assert.equal(dropped.length, 2);
    const info = client.info();
    assert.equal(info.timeouts, 0, 'no RTO');
    assert.equal(info.tlpProbes, 1);
    assert.equal(info.totalRetrans, 2, 'the probe and the one RACK found lost');
    // Well before the first RTO (at least 200 ms) would have fired.
    assert.ok(sim.now - start < info.rto, `${sim.now - start} ms`);
    assert.equal(a.stack.counters.value('tcp.tlp.probes'), 1);
    assert.ok(a.stack.counters.value('tcp.rack.lost') >= 1);
    assert.equal(sha256(got.chunks), sha256([warm, d]));
  });

  test('one probe per episode: a probe that is lost too ends in an RTO, not in more probes (7.3)', () => {
    const { sim, a, client, server } = connectedPair(52, { delay: 10 });
    const got = collect(server);
    client.write(payload(1000, 1));
    assert.ok(sim.runUntil(() => got.bytes() === 1000, 1000));
    // Everything sent with data is lost for 2 s.
    const restore = dropSent(a, (f) => (tcpOfFrame(f)?.len ?? 0) > 0);
    client.write(payload(5 * MSS, 3));
    sim.advance(2000);
    restore();
    assert.equal(client.info().tlpProbes, 1);
    assert.ok(client.info().timeouts >= 1);
    assert.ok(sim.runUntil(() => got.bytes() === 1000 + 5 * MSS, 10_000));
  });

  test('reordering within the window: no spurious retransmissions once reordering is seen (6.2)', () => {
    // Jitter of ±0.4 ms on a 10 ms wire: segments of a burst arrive shuffled by up to 0.8 ms, well
    // inside RACK's reordering window (min RTT / 4) and PAWS's one-tick tolerance.
    const size = 4 * 1024 * 1024;
    const run = (sack: boolean) => {
      const { sim, a, b, client, server } = connectedPairWith(53, sack);
      void a;
      void b;
      const d = payload(size, 4);
      sendAll(client, d);
      const got = collect(server);
      assert.ok(sim.runUntil(() => got.ended(), 120_000));
      assert.equal(sha256(got.chunks), sha256([d]));
      return client.info();
    };
    const rack = run(true);
    const dupThresh = run(false);
    // DupThresh alone (no SACK, RFC 5681 3.2) retransmits on every deep reordering.
    assert.ok(dupThresh.totalRetrans > 20, `DupThresh: ${dupThresh.totalRetrans}`);
    // RACK: at most the first reordering event before reordering_seen is set.
    assert.ok(rack.totalRetrans <= 3, `RACK: ${rack.totalRetrans}`);
    assert.equal(rack.timeouts, 0);
  });

  test('losses among reordered segments are found by RACK (and its reordering timer), not by RTOs (6.2)', () => {
    const { sim, a, client, server, wire } = connectedPairWith(54, true);
    void a;
    wire.setImpairments({ delay: 10, jitter: 0.4, loss: 0.01 });
    const d = payload(4 * 1024 * 1024, 5);
    sendAll(client, d);
    const got = collect(server);
    assert.ok(sim.runUntil(() => got.ended(), 120_000));
    assert.equal(sha256(got.chunks), sha256([d]));
    const lost = wire.stats['a-to-b'].lost;
    const info = client.info();
    assert.ok(lost >= 10, `lost ${lost}`);
    // Nearly every loss repaired by one retransmission (a few spurious ones before reordering is
    // seen, or when ACKs with SACK blocks are lost too), almost never by a timeout.
    assert.ok(
      info.totalRetrans <= Math.ceil(lost * 1.3),
      `retransmitted ${info.totalRetrans} for ${lost} lost`,
    );
    assert.ok(info.timeouts <= 1, `timeouts ${info.timeouts}`);
  });

  test('reordering beyond the window: D-SACKs of the spurious retransmissions grow the reordering window (6.2 step 4, RFC 2883)', () => {
    // ±3 ms of jitter on a 5 ms wire: segments are displaced by more than min RTT / 4.
    const { sim, client, server, wire } = connectedPair(57, { delay: 5, jitter: 3 });
    const d = payload(2 * 1024 * 1024, 7);
    sendAll(client, d);
    const got = collect(server);
    assert.ok(sim.runUntil(() => got.ended(), 120_000));
    assert.equal(sha256(got.chunks), sha256([d]));
    const info = client.info();
    const rack = (client as unknown as { tcb: { rack: { reoWndMult: number } } }).tcb.rack;
    assert.ok(info.dsackDups > 0, 'the receiver reported duplicates');
    assert.ok(rack.reoWndMult > 1, `reo_wnd_mult ${rack.reoWndMult}`);
    // Spurious retransmissions stay a small share of the ~1450 segments.
    assert.ok(
      info.totalRetrans < 150,
      `retransmitted ${info.totalRetrans} (lost ${wire.stats['a-to-b'].lost})`,
    );
    assert.equal(info.timeouts, 0);
  });

  test('RTO marking (6.3): after a timeout only the lost segments are sent again, not the SACKed ones', () => {
    const { sim, a, client, server } = connectedPair(55, { delay: 10 });
    const got = collect(server);
    client.write(payload(1000, 1));
    assert.ok(sim.runUntil(() => got.bytes() === 1000, 1000));
    const base = (client as unknown as { tcb: { sndMax: number } }).tcb.sndMax;
    // The first segment of a flight of 10 is lost, and so is every retransmission of it for
    // 1.5 s (TLP and RACK recovery cannot help): an RTO must repair it.
    let until = Number.POSITIVE_INFINITY;
    const restore = dropSent(a, (f) => {
      const t = tcpOfFrame(f);
      if (t === undefined || t.seq !== base || t.len === 0) return false;
      if (until === Number.POSITIVE_INFINITY) until = sim.now + 1500;
      return sim.now < until;
    });
    const d = payload(10 * MSS, 6);
    client.write(d);
    assert.ok(sim.runUntil(() => got.bytes() === 1000 + d.length, 20_000));
    restore();
    const info = client.info();
    assert.ok(info.timeouts >= 1);
    // Only the one segment (and its retransmissions) went again: the 9 SACKed ones never.
    assert.equal(info.bytesRetrans, info.totalRetrans * MSS);
    assert.ok(info.totalRetrans <= 2 + info.timeouts, `${info.totalRetrans}`);
  });
});

/** A connected pair on a 10 ms wire with ±0.4 ms jitter, with or without SACK on both sides. */
function connectedPairWith(seed: number, sack: boolean) {
  return connectedPair(seed, { delay: 10, jitter: 0.4 }, 80, (a, b) => {
    a.stack.tcp.sack = sack;
    b.stack.tcp.sack = sack;
  });
}
