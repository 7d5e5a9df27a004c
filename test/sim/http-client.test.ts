/**
 * The HTTP client (`netstack fetch`) against servers on a simulated stack: bodies by length,
 * chunked and delimited by the close, interim responses, truncation, refusal, a bad head.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { twoHosts } from '../helpers/sim-hosts.ts';
import { get } from './http-helpers.ts';
import { payload } from './tcp-helpers.ts';

/** A server on b:8080 that reads one request head, then writes `response` and closes (or not). */
function scriptedServer(seed: number, response: Uint8Array, options: { close?: boolean } = {}) {
  const hosts = twoHosts(seed);
  const { b } = hosts;
  const l = b.stack.tcp.listen({ port: 8080 });
  let request = '';
  l.onConnection = () => {
    const s: TcpSocket = l.accept()!;
    let answered = false;
    let offset = 0;
    const send = () => {
      while (offset < response.length) {
        const n = s.write(response.subarray(offset));
        if (n === 0) return;
        offset += n;
      }
      if (options.close !== false) s.close();
    };
    s.onWritable = send;
    s.onReadable = () => {
      for (let c = s.read(); c; c = s.read()) request += Buffer.from(c).toString('latin1');
      if (!answered && request.includes('\r\n\r\n')) {
        answered = true;
        send();
      }
    };
  };
  return { ...hosts, request: () => request };
}

const enc = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('HTTP client', () => {
  test('sends a GET with Host and Connection: close; a body by Content-Length', () => {
    const body = payload(200_000, 1);
    const { sim, a, b, request } = scriptedServer(
      1,
      Buffer.concat([enc(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
    );
    const g = get(a, b.ip, '/some/path?q=1', 8080);
    assert.ok(sim.runUntil(g.finished, 30_000));
    assert.equal(g.error(), undefined);
    assert.match(
      request(),
      /^GET \/some\/path\?q=1 HTTP\/1\.1\r\nHost: test\r\n[\s\S]*Connection: close\r\n\r\n$/,
    );
    assert.equal(g.head()!.length, body.length);
    assert.equal(g.digest(), sha(body));
  });

  test('a chunked body after a 100 Continue, and a body that ends with the connection', () => {
    const body = payload(70_000, 2);
    const parts: Uint8Array[] = [
      enc('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
    ];
    for (let o = 0; o < body.length; o += 3000) {
      const c = body.subarray(o, o + 3000);
      parts.push(enc(`${c.length.toString(16)}\r\n`), c, enc('\r\n'));
    }
    parts.push(enc('0\r\n\r\n'));
    const one = scriptedServer(2, Buffer.concat(parts), { close: false });
    const g = get(one.a, one.b.ip, '/', 8080);
    assert.ok(one.sim.runUntil(g.finished, 30_000));
    assert.equal(g.error(), undefined);
    assert.equal(g.head()!.status, 200);
    assert.equal(g.head()!.length, undefined);
    assert.equal(g.digest(), sha(body));

    const two = scriptedServer(3, Buffer.concat([enc('HTTP/1.0 200 OK\r\n\r\n'), body]));
    const h = get(two.a, two.b.ip, '/', 8080);
    assert.ok(two.sim.runUntil(h.finished, 30_000));
    assert.equal(h.error(), undefined);
    assert.equal(h.digest(), sha(body));
  });

  test('a body cut short by the close is an EPROTO error', () => {
    const { sim, a, b } = scriptedServer(4, enc('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this'));
    const g = get(a, b.ip, '/', 8080);
    assert.ok(sim.runUntil(g.finished, 30_000));
    assert.equal(g.error()?.code, 'EPROTO');
    assert.equal(g.received(), 9);
  });

  test('a bad status line is an EPROTO error', () => {
    const { sim, a, b } = scriptedServer(5, enc('SSH-2.0-OpenSSH\r\n\r\n'));
    const g = get(a, b.ip, '/', 8080);
    assert.ok(sim.runUntil(g.finished, 30_000));
    assert.equal(g.error()?.code, 'EPROTO');
  });

  test('a closed port is ECONNREFUSED', () => {
    const { sim, a, b } = twoHosts(6);
    const g = get(a, b.ip, '/', 8081);
    assert.ok(sim.runUntil(g.finished, 30_000));
    assert.equal(g.error()?.code, 'ECONNREFUSED');
  });
});
