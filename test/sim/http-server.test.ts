/**
 * The HTTP service between two simulated stacks: the routes, persistent connections and
 * pipelining, Expect: 100-continue, request bodies by length and chunked (hashed as they come),
 * /bytes/N checked byte for byte, backpressure, the bounds on heads, errors and the idle timeout.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { BYTES_BLOCK, bytesBlock, bytesSource } from '../../src/apps/http/bytes-body.ts';
import { expectedBytesDigest, get, httpPair, rawExchange } from './http-helpers.ts';
import { payload } from './tcp-helpers.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** The body in the chunked coding, in pieces of `piece` bytes, with an extension and a trailer. */
function chunked(body: Uint8Array, piece: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let o = 0; o < body.length; o += piece) {
    const c = body.subarray(o, o + piece);
    parts.push(enc(`${c.length.toString(16)};ext=1\r\n`), c, enc('\r\n'));
  }
  parts.push(enc('0\r\nX-Trailer: yes\r\n\r\n'));
  return concat(...parts);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('HTTP server (RFC 9110, RFC 9112)', () => {
  test('GET / then GET /bytes/5 pipelined on one connection, answered in order; HEAD has no body', () => {
    const { sim, a, b } = httpPair(1);
    const x = rawExchange(
      a,
      b.ip,
      'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /bytes/5 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'HEAD /bytes/10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.ok(sim.runUntil(x.ended, 10_000));
    const t = x.text();
    const heads = [...t.matchAll(/HTTP\/1\.1 (\d+) [^\r]*\r\n/g)].map((m) => m[1]);
    assert.deepEqual(heads, ['200', '200', '200']);
    assert.match(t, /Content-Type: text\/html/);
    assert.match(t, /<h1>netstack-ts<\/h1>/);
    // The /bytes/5 body, then the HEAD's head with Content-Length 10 and nothing after it.
    const five = Buffer.from(bytesBlock(0, 5)).toString('latin1');
    assert.ok(t.includes(`\r\n\r\n${five}HTTP/1.1 200 OK`), 'the 5 bytes between the two responses');
    assert.match(
      t,
      /Content-Length: 10\r\nContent-Type: application\/octet-stream\r\nConnection: close\r\n\r\n$/,
    );
    assert.equal(b.stack.counters.value('http.server.requests'), 3);
  });

  test('HTTP/1.0 closes after the response unless it asks for keep-alive', () => {
    const { sim, a, b } = httpPair(2);
    const x = rawExchange(a, b.ip, 'GET /bytes/3 HTTP/1.0\r\n\r\n');
    assert.ok(sim.runUntil(x.ended, 10_000));
    assert.match(x.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n\r\n...$/);
    const y = rawExchange(a, b.ip, 'GET /bytes/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    assert.ok(sim.runUntil(() => y.text().length > 0, 10_000));
    sim.advance(1000);
    assert.equal(y.ended(), false, 'a keep-alive connection stays open');
    assert.match(y.text(), /Connection: keep-alive/);
  });

  for (const size of [0, 1, BYTES_BLOCK - 1, BYTES_BLOCK, 3 * BYTES_BLOCK + 17, 5_000_000]) {
    test(`GET /bytes/${size}: every byte as the generator makes it, through the client`, () => {
      const { sim, a, b } = httpPair(3);
      const g = get(a, b.ip, `/bytes/${size}`);
      assert.ok(sim.runUntil(g.finished, 120_000));
      assert.equal(g.error(), undefined);
      assert.equal(g.head()!.status, 200);
      assert.equal(g.head()!.length, size);
      assert.equal(g.received(), size);
      assert.equal(g.digest(), expectedBytesDigest(size, bytesSource(size)));
    });
  }

  test('no two blocks of /bytes/N are alike (reordered blocks would show)', () => {
    assert.notDeepEqual(bytesBlock(0), bytesBlock(BYTES_BLOCK));
    assert.deepEqual(bytesBlock(BYTES_BLOCK).subarray(8), bytesBlock(0).subarray(8));
  });

  test('POST /sha256: 3 MiB with Content-Length and 3 MiB chunked, hashed as they arrive; 100 Continue when asked', () => {
    const { sim, a, b } = httpPair(4, { delay: 5 });
    const body = payload(3 * 1024 * 1024, 9);
    const x = rawExchange(
      a,
      b.ip,
      concat(
        enc(
          `POST /sha256 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
        enc('POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'),
        chunked(body, 100_003),
      ),
    );
    assert.ok(sim.runUntil(x.ended, 120_000));
    const t = x.text();
    assert.match(t, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    const digests = [...t.matchAll(/\r\n\r\n([0-9a-f]{64})\n/g)].map((m) => m[1]);
    assert.deepEqual(digests, [sha(body), sha(body)]);
  });

  test('POST /sha256 of an empty body', () => {
    const { sim, a, b } = httpPair(5);
    const x = rawExchange(
      a,
      b.ip,
      'POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    assert.ok(sim.runUntil(x.ended, 10_000));
    assert.match(x.text(), new RegExp(`\r\n\r\n${sha(new Uint8Array(0))}\n$`));
  });

  /** What, the request, the status, and whether the server must close after it (unreadable request). */
  const errors: Array<[string, string, number, boolean?]> = [
    ['an unknown path', 'GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n', 404, false],
    ['a bad request line', 'GET /\r\n\r\n', 400],
    ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
    ['obsolete line folding', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n', 400],
    [
      'both Content-Length and Transfer-Encoding',
      'POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
    ],
    [
      'two different Content-Lengths',
      'POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd',
      400,
    ],
    [
      'a gzip transfer coding',
      'POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
      501,
    ],
    ['a bad chunk size', 'POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    [
      'a header section over 16 KiB',
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
      431,
    ],
    ['101 fields', `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: 1\r\n'.repeat(100)}\r\n`, 431],
    ['a /bytes/N over the bound', 'GET /bytes/2000000000000 HTTP/1.1\r\nHost: x\r\n\r\n', 400, false],
  ];
  for (const [what, request, status, closes = true] of errors) {
    test(`${what}: ${status}`, () => {
      const { sim, a, b, finished } = httpPair(6);
      const x = rawExchange(a, b.ip, `${request}`);
      assert.ok(
        sim.runUntil(() => x.text().includes('\r\n\r\n'), 10_000),
        x.text(),
      );
      assert.match(x.text(), new RegExp(`^HTTP/1\\.1 ${status} `));
      if (closes) {
        // The request cannot be read further: the server closes after answering.
        assert.match(x.text(), /Connection: close/);
        x.socket.shutdown();
        assert.ok(sim.runUntil(() => x.ended() && finished() === 1, 10_000));
      }
    });
  }

  test('405 with Allow for a known path and the wrong method', () => {
    const { sim, a, b } = httpPair(7);
    const x = rawExchange(a, b.ip, 'GET /sha256 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.ok(sim.runUntil(x.ended, 10_000));
    assert.match(x.text(), /^HTTP\/1\.1 405 [\s\S]*Allow: POST\r\n/);
  });

  test('the request line and fields may arrive one byte at a time', () => {
    const { sim, a, b } = httpPair(8);
    const s = a.stack.tcp.connect({ address: b.ip, port: 80 });
    s.setNoDelay(true);
    const request = enc(
      'POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    let out = '';
    s.onReadable = () => {
      for (let c = s.read(); c; c = s.read()) out += Buffer.from(c).toString('latin1');
    };
    assert.ok(sim.runUntil(() => s.state === 'ESTABLISHED', 5000));
    for (const byte of request) {
      s.write(Uint8Array.of(byte));
      sim.advance(1);
    }
    assert.ok(sim.runUntil(() => out.endsWith('\n') && out.includes('\r\n\r\n'), 10_000));
    assert.ok(out.endsWith(`${sha(enc('abc'))}\n`));
  });

  test('backpressure: a client that stops reading holds /bytes/N back; it resumes and completes', () => {
    const { sim, a, b, open } = httpPair(9);
    const size = 50 * 1024 * 1024;
    const g = get(a, b.ip, `/bytes/${size}`);
    assert.ok(sim.runUntil(() => g.received() > 1_000_000, 10_000));
    g.request.pause();
    sim.advance(5_000);
    const held = g.received();
    sim.advance(30_000);
    assert.equal(g.received(), held, 'nothing is handed out while paused');
    // The server side holds no more than its send buffer: the generator waits.
    const [serverSocket] = [...open];
    const info = serverSocket!.info();
    assert.ok(info.notSent + info.unacked <= 16 * 1024 * 1024, `server holds ${info.notSent + info.unacked}`);
    assert.ok(info.bytesAcked < size / 2);
    g.request.resume();
    assert.ok(sim.runUntil(g.finished, 600_000));
    assert.equal(g.digest(), expectedBytesDigest(size, bytesSource(size)));
  });

  test('a connection that sends no complete request is closed after the idle timeout', () => {
    const { sim, a, b, finished } = httpPair(10, {}, { idleTimeout: 5_000 });
    const x = rawExchange(a, b.ip, 'GET / HTTP/1.1\r\n');
    sim.advance(4_000);
    assert.equal(x.ended(), false);
    assert.ok(sim.runUntil(x.ended, 2_000));
    assert.equal(x.text(), '');
    assert.ok(sim.runUntil(() => finished() === 1, 5_000) || x.socket.state !== 'CLOSED');
  });

  test('a client that half-closes after its request still gets the whole response', () => {
    const { sim, a, b, finished } = httpPair(11);
    const x = rawExchange(a, b.ip, 'GET /bytes/300000 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(sim.runUntil(x.sent, 5000));
    x.socket.shutdown();
    assert.ok(sim.runUntil(() => x.ended() && finished() === 1, 30_000));
    const body = x.bytes().subarray(x.text().indexOf('\r\n\r\n') + 4);
    assert.equal(sha(body), expectedBytesDigest(300_000, bytesSource(300_000)));
  });

  test('4 MiB of /bytes/N and a 2 MiB upload across a lossy, reordering link', () => {
    const { sim, a, b } = httpPair(12, { loss: 0.03, reorder: 0.05, delay: 20 });
    const g = get(a, b.ip, '/bytes/4194304');
    const body = payload(2 * 1024 * 1024, 3);
    const x = rawExchange(
      a,
      b.ip,
      concat(
        enc(
          `POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
        body,
      ),
    );
    assert.ok(sim.runUntil(() => g.finished() && x.ended(), 600_000));
    assert.equal(g.digest(), expectedBytesDigest(4194304, bytesSource(4194304)));
    assert.match(x.text(), new RegExp(`\r\n\r\n${sha(body)}\n$`));
  });
});
