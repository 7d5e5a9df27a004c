import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DnsAnswer, DnsResolver } from '../../src/apps/dns/resolver.ts';
import { DNS_RCODE, DNS_TYPE, type DnsMessage, dnsResponse } from '../../src/wire/dns.ts';
import { counter, dnsLan, run } from './dns-helpers.ts';

describe('DNS transport: queries on the wire', () => {
  test('random IDs and random source ports for every query, EDNS0 offering 1232 octets', () => {
    const seen: Array<{ id: number; port: number; edns: number | undefined }> = [];
    const { sim, client, resolver } = dnsLan(20, {
      serverOptions: () => ({
        handler: (q, from) => {
          seen.push({ id: q.id, port: from.port, edns: q.edns?.udpPayloadSize });
          return undefined;
        },
      }),
    });
    for (let i = 0; i < 40; i++)
      run<DnsAnswer>(sim, (cb) => resolver.query(`n${i}.example.test`, DNS_TYPE.A, cb));
    assert.equal(seen.length, 40);
    assert.ok(new Set(seen.map((s) => s.id)).size >= 38, 'IDs repeat');
    assert.ok(new Set(seen.map((s) => s.port)).size >= 38, 'ports repeat');
    const { min: lo, max: hi } = client.stack.udp.ports.range;
    assert.ok(seen.every((s) => s.port >= lo && s.port <= hi));
    // Consecutive ports would reveal a counter: the gaps between them look random.
    const gaps = seen.slice(1).map((s, i) => Math.abs(s.port - seen[i]!.port));
    assert.ok(gaps.filter((g) => g > 100).length > 30);
    assert.ok(seen.every((s) => s.edns === 1232));
    assert.equal(client.stack.udp.list().length, 0, 'each query closed its socket');
  });

  test('retries: a silent server is left after 2 s, the next one answers', () => {
    const { sim, resolver, dns } = dnsLan(21, {
      servers: 2,
      serverOptions: (i) => (i === 0 ? { handler: () => 'drop' } : {}),
    });
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r.err, undefined);
    assert.ok(r.at >= 2000 && r.at < 2100, `answered at ${r.at}`);
    assert.equal(dns[1]!.udpQueries, 1);
  });

  test('timeouts: every server asked `attempts` times with doubling waits, then ETIMEOUT', () => {
    const asked: number[][] = [[], [], []];
    const { sim, resolver } = dnsLan(22, {
      servers: 3,
      serverOptions: (i) => ({
        handler: () => {
          asked[i]!.push(sim.now);
          return 'drop';
        },
      }),
      resolver: { timeout: 1000, attempts: 3 },
    });
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r.err?.code, 'ETIMEOUT');
    // Rounds of 1 s, 2 s, 4 s over three servers: 3 + 6 + 12 = 21 s.
    assert.ok(r.at >= 21_000 && r.at < 21_100, `failed at ${r.at}`);
    const start = (ms: number) => (t: number) => Math.round((t - ms) / 100);
    assert.deepEqual(asked[0]!.map(start(0)), [0, 30, 90]);
    assert.deepEqual(asked[1]!.map(start(0)), [10, 50, 130]);
    assert.deepEqual(asked[2]!.map(start(0)), [20, 70, 170]);
  });

  test('a late answer to an earlier attempt is taken', () => {
    // 0.6 s each way plus ARP: the answer to the first query comes after the first 2 s timeout;
    // the retry is dropped, so only the late answer can end the query.
    let n = 0;
    const { sim, resolver } = dnsLan(23, {
      impairments: { delay: 600 },
      serverOptions: () => ({ handler: () => (n++ === 0 ? undefined : 'drop') }),
    });
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r.err, undefined);
    assert.ok(r.at > 2000 && r.at < 6000, `answered at ${r.at}`);
    assert.equal(n, 2, 'the retry was sent before the answer came');
  });

  test('port unreachable: ECONNREFUSED at once, and the next server is asked without waiting', () => {
    const one = dnsLan(24, { serverOptions: () => undefined });
    const r = run<DnsAnswer>(one.sim, (cb) => one.resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r.err?.code, 'ECONNREFUSED');
    assert.ok(r.at < 100, `failed at ${r.at}`);
    const two = dnsLan(24, { servers: 2, serverOptions: (i) => (i === 0 ? undefined : {}) });
    const r2 = run<DnsAnswer>(two.sim, (cb) => two.resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r2.err, undefined);
    assert.ok(r2.at < 100, `answered at ${r2.at}`);
  });

  test('SERVFAIL and REFUSED move on to the next server; the last one decides the error', () => {
    const fail = (rcode: number) => (q: DnsMessage) => dnsResponse(q, { rcode });
    const mixed = dnsLan(25, {
      servers: 2,
      serverOptions: (i) => (i === 0 ? { handler: fail(DNS_RCODE.SERVFAIL) } : {}),
    });
    const ok = run<DnsAnswer>(mixed.sim, (cb) => mixed.resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(ok.err, undefined);
    assert.ok(ok.at < 100);
    for (const [rcode, code] of [
      [DNS_RCODE.SERVFAIL, 'ESERVFAIL'],
      [DNS_RCODE.REFUSED, 'EREFUSED'],
      [DNS_RCODE.NOTIMP, 'ENOTIMP'],
      [DNS_RCODE.FORMERR, 'EFORMERR'],
    ] as const) {
      const lan = dnsLan(26, { servers: 2, serverOptions: () => ({ handler: fail(rcode) }) });
      const r = run<DnsAnswer>(lan.sim, (cb) => lan.resolver.query('www.example.test', DNS_TYPE.A, cb));
      assert.equal(r.err?.code, code);
    }
  });

  test('forged answers (wrong ID, wrong question, not a response, garbage) are counted and ignored', () => {
    const kinds = ['id', 'question', 'query', 'ok'];
    let n = 0;
    const { sim, client, resolver } = dnsLan(27, {
      servers: 4,
      serverOptions: () => ({
        handler: (q, _from) => {
          const kind = kinds[n++];
          const good = dnsResponse(q, { answers: [] });
          if (kind === 'id') return { ...good, id: q.id ^ 1 };
          if (kind === 'question') return { ...good, questions: [{ ...q.questions[0]!, name: 'evil.test' }] };
          if (kind === 'query') return { ...good, qr: false };
          return undefined;
        },
      }),
    });
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r.err, undefined);
    assert.ok(r.at >= 6000, 'each forgery cost its attempt a timeout, not an early end');
    assert.equal(counter(client.stack, 'dns.rx.drop.id-mismatch'), 1);
    assert.equal(counter(client.stack, 'dns.rx.drop.question-mismatch'), 1);
    assert.equal(counter(client.stack, 'dns.rx.drop.not-response'), 1);
  });

  test('malformed responses and nothing else: EBADRESP', () => {
    const { sim, client, servers } = dnsLan(28, { serverOptions: () => undefined });
    const garbage = servers[0]!.stack.udp.open();
    garbage.bind(53);
    garbage.onReadable = () => {
      for (let d = garbage.recv(); d; d = garbage.recv()) {
        garbage.send(Uint8Array.of(d.data[0]!, d.data[1]!, 0x81, 0x80, 0, 1, 0, 1), d.address, d.port);
      }
    };
    const resolver = new DnsResolver(client.stack, { servers: ['10.0.0.2'] });
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r.err?.code, 'EBADRESP');
    assert.equal(counter(client.stack, 'dns.rx.drop.malformed'), 2);
  });

  test('a truncated answer is asked again over TCP (RFC 7766)', () => {
    const { sim, client, resolver, dns } = dnsLan(29);
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('big.example.test', DNS_TYPE.TXT, cb));
    assert.equal(r.err, undefined);
    const txt = r.value!.records[0]!.data;
    assert.ok(txt.type === 'TXT' && txt.strings.length === 40 && txt.strings[39]!.length === 200);
    assert.equal(dns[0]!.truncated, 1);
    assert.equal(dns[0]!.tcpQueries, 1);
    sim.runUntilIdle({ maxTime: 600_000 });
    assert.equal(client.stack.udp.list().length, 0);
  });

  test('TCP refused after truncation: the next attempt, then ECONNREFUSED', () => {
    const { sim, resolver, dns } = dnsLan(30, { serverOptions: () => ({ tcp: false }) });
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('big.example.test', DNS_TYPE.TXT, cb));
    assert.equal(r.err?.code, 'ECONNREFUSED');
    assert.equal(dns[0]!.truncated, 2);
  });

  test('FORMERR to EDNS from a server without EDNS: asked again without OPT (RFC 6891 7)', () => {
    const edns: Array<number | undefined> = [];
    const { sim, resolver } = dnsLan(31, {
      serverOptions: () => ({
        handler: (q) => {
          edns.push(q.edns?.udpPayloadSize);
          if (q.edns) return dnsResponse(q, { rcode: DNS_RCODE.FORMERR });
          return undefined;
        },
      }),
    });
    const r = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(r.err, undefined);
    assert.deepEqual(edns, [1232, undefined]);
  });

  test('no usable server: ECONNREFUSED (none configured, or an IPv6 server with no IPv6 route)', () => {
    const { sim, client, resolver } = dnsLan(32);
    resolver.configure({ servers: [] });
    assert.equal(
      run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb)).err?.code,
      'ECONNREFUSED',
    );
    resolver.configure({ servers: ['[2001:db8::53]:5353'] });
    assert.equal(
      run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb)).err?.code,
      'ECONNREFUSED',
    );
    assert.equal(counter(client.stack, 'dns.queries'), 2);
    assert.throws(() => resolver.configure({ servers: ['10.0.0.300'] }), { code: 'EINVAL' });
    assert.throws(() => resolver.configure({ timeout: 0 }), { code: 'EINVAL' });
    assert.throws(() => resolver.configure({ udpPayloadSize: 100 }), { code: 'EINVAL' });
  });

  test('over a lossy wire, retries across three servers get answers under most seeds', () => {
    let answered = 0;
    for (let seed = 100; seed < 120; seed++) {
      const { sim, client, resolver } = dnsLan(seed, { servers: 3, impairments: { loss: 0.2 } });
      const r = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
      if (r.err === undefined) answered++;
      else assert.equal(r.err.code, 'ETIMEOUT', `seed ${seed}`);
      assert.equal(client.stack.udp.list().length, 0);
    }
    assert.ok(answered >= 17, `answered under ${answered} of 20 seeds`);
  });
});
