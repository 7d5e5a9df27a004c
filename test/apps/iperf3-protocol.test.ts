/**
 * The iperf3 protocol pieces on their own: cookies, stream numbers, JSON framing read back byte by
 * byte, the bounds of the reader, SERVER_ERROR's bytes, the check of received results, and
 * iperf3's number style in the text report.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  COOKIE_SIZE,
  ControlReader,
  checkResults,
  cookieText,
  frameJson,
  makeCookie,
  State,
  serverError,
  stateByte,
  streamId,
} from '../../src/apps/iperf3/protocol.ts';
import { formatBytes, formatRate } from '../../src/apps/iperf3/report.ts';
import { SeededRng } from '../../src/core/rng.ts';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';

/** A socket whose `read` hands out `bytes` in pieces of at most `piece`. */
function fakeSocket(bytes: Uint8Array, piece: number) {
  let offset = 0;
  let available = 0;
  const socket = {
    read(max?: number) {
      const n = Math.min(piece, available - offset, max ?? Number.POSITIVE_INFINITY);
      if (n <= 0) return undefined;
      const out = bytes.subarray(offset, offset + n);
      offset += n;
      return out;
    },
  };
  return {
    socket: socket as unknown as TcpSocket,
    /** Makes `n` more bytes readable. */
    arrive: (n: number) => {
      available = Math.min(bytes.length, available + n);
    },
    offset: () => offset,
  };
}

describe('iperf3 protocol', () => {
  test('a cookie is 36 letters of the base-32 alphabet and a NUL, different each time', () => {
    const rng = new SeededRng(1);
    const a = makeCookie(rng);
    const b = makeCookie(rng);
    assert.equal(a.length, COOKIE_SIZE);
    assert.equal(a[36], 0);
    assert.match(cookieText(a), /^[a-z2-7]{36}$/);
    assert.notEqual(cookieText(a), cookieText(b));
  });

  test('streams are numbered 1, 3, 4, 5 (the second skips 2, as iperf3)', () => {
    assert.deepEqual([0, 1, 2, 3].map(streamId), [1, 3, 4, 5]);
  });

  test('states are signed bytes; SERVER_ERROR carries two big-endian 32-bit numbers', () => {
    assert.deepEqual([...stateByte(State.ACCESS_DENIED)], [0xff]);
    assert.deepEqual([...stateByte(State.PARAM_EXCHANGE)], [9]);
    assert.deepEqual([...serverError(13, 2)], [0xfe, 0, 0, 0, 13, 0, 0, 0, 2]);
  });

  test('framed JSON read back one byte at a time, states between, nothing read beyond a piece', () => {
    const value = { tcp: true, time: 2, parallel: 4, len: 131072, client_version: '3.12' };
    const framed = frameJson(value);
    assert.deepEqual([...framed.subarray(0, 4)], [0, 0, 0, framed.length - 4]);
    const bytes = new Uint8Array([...stateByte(State.TEST_END), ...framed, ...stateByte(State.IPERF_DONE)]);
    const f = fakeSocket(bytes, 1);
    const reader = new ControlReader(f.socket);
    assert.equal(reader.state(), undefined);
    f.arrive(1);
    assert.equal(reader.state(), State.TEST_END);
    for (let i = 0; i < framed.length; i++) {
      assert.equal(reader.json(1000), undefined);
      f.arrive(1);
    }
    assert.deepEqual(reader.json(1000), { value });
    assert.equal(f.offset(), 1 + framed.length, 'the reader took the frame and no more');
    f.arrive(1);
    assert.equal(reader.state(), State.IPERF_DONE);
  });

  test('a JSON length above the bound is refused before its body is read; malformed JSON is reported', () => {
    const long = fakeSocket(frameJson({ x: 'y'.repeat(100) }), 64);
    long.arrive(1000);
    const r = new ControlReader(long.socket).json(50);
    assert.ok(r !== undefined && 'error' in r && /at most 50/.test(r.error));
    assert.equal(long.offset(), 4);
    const bad = new Uint8Array([0, 0, 0, 3, 0x7b, 0x7b, 0x7d]);
    const b = fakeSocket(bad, 64);
    b.arrive(7);
    assert.deepEqual(new ControlReader(b.socket).json(50), { error: 'malformed JSON' });
  });

  test('received results must carry the fields iperf3 requires', () => {
    const ok = {
      cpu_util_total: 1,
      cpu_util_user: 0.5,
      cpu_util_system: 0.5,
      sender_has_retransmits: 1,
      streams: [{ id: 1, bytes: 10, retransmits: 0, jitter: 0, errors: 0, packets: 0 }],
    };
    assert.equal(checkResults(ok), undefined);
    assert.match(checkResults({ ...ok, sender_has_retransmits: undefined })!, /sender_has_retransmits/);
    assert.match(checkResults({ ...ok, streams: [{ id: 1 }] })!, /lacks bytes/);
    assert.match(checkResults([])!, /lack cpu_util_total/);
    assert.match(checkResults(null)!, /not an object/);
  });

  test("numbers in iperf3's style: 1024-based bytes, 1000-based rates, three digits", () => {
    assert.equal(formatBytes(165 * 1048576), '165 MBytes');
    assert.equal(formatBytes(11.5 * 1048576), '11.5 MBytes');
    assert.equal(formatBytes(1023 * 1024), '1023 KBytes');
    assert.equal(formatBytes(0), '0.00 Bytes');
    assert.equal(formatRate(1.38e9), '1.38 Gbits/sec');
    assert.equal(formatRate(96.4e6), '96.4 Mbits/sec');
    assert.equal(formatRate(334e6), '334 Mbits/sec');
  });
});
