import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededRng } from '../../../src/core/rng.ts';
import type { FourTuple } from '../../../src/core/tcp/four-tuple.ts';
import {
  decodeCookieTsecr,
  encodeCookieTsval,
  SYN_COOKIE_MSS_TABLES,
  SYN_COOKIE_PERIOD_MS,
  SynCookies,
  synCookieMssIndex,
} from '../../../src/core/tcp/syn-cookies.ts';

const tuple: FourTuple = {
  localAddress: 0xc0a80001,
  localPort: 443,
  remoteAddress: 0xc0a80002,
  remotePort: 51000,
};
const clientIsn = 0xdeadbeef;

describe('SYN cookies (RFC 4987 3.6)', () => {
  test('MSS index: the largest table entry not above the offered MSS', () => {
    assert.equal(synCookieMssIndex(1460, 4), 3);
    assert.equal(synCookieMssIndex(9000, 4), 3);
    assert.equal(synCookieMssIndex(1450, 4), 2);
    assert.equal(synCookieMssIndex(1300, 4), 1);
    assert.equal(synCookieMssIndex(536, 4), 0);
    assert.equal(synCookieMssIndex(100, 4), 0);
    // IPv6: the minimum MTU's MSS is the smallest entry; Ethernet's 1440; jumbo frames 8940.
    assert.equal(synCookieMssIndex(1220, 6), 0);
    assert.equal(synCookieMssIndex(1440, 6), 2);
    assert.equal(synCookieMssIndex(8940, 6), 3);
  });

  test('an IPv6 cookie carries an IPv6 MSS (1220, not the 536 of IPv4)', () => {
    const cookies = new SynCookies(new SeededRng(3));
    const v6 = {
      ...tuple,
      localAddress: new Uint8Array(16).fill(1),
      remoteAddress: new Uint8Array(16).fill(2),
    };
    const cookie = cookies.encode(v6, clientIsn, synCookieMssIndex(1220, 6), 5_000);
    assert.equal(cookies.decode(v6, cookie, clientIsn, 5_000), 1220);
  });

  test('a valid cookie is accepted with its MSS, in its period and the next one', () => {
    const cookies = new SynCookies(new SeededRng(1));
    for (let i = 0; i < SYN_COOKIE_MSS_TABLES[4].length; i++) {
      const now = 1_000_000 + i * 7;
      const cookie = cookies.encode(tuple, clientIsn, i, now);
      assert.equal(cookies.decode(tuple, cookie, clientIsn, now), SYN_COOKIE_MSS_TABLES[4][i]);
      assert.equal(
        cookies.decode(tuple, cookie, clientIsn, now + SYN_COOKIE_PERIOD_MS),
        SYN_COOKIE_MSS_TABLES[4][i],
      );
    }
  });

  test('layout: counter in the top 5 bits, MSS index in the next 3', () => {
    const cookies = new SynCookies(new SeededRng(2));
    const now = 5 * SYN_COOKIE_PERIOD_MS + 1;
    const cookie = cookies.encode(tuple, clientIsn, 2, now);
    assert.equal(cookie >>> 27, 5);
    assert.equal((cookie >>> 24) & 7, 2);
    assert.throws(() => cookies.encode(tuple, clientIsn, 4, now), { code: 'EINVAL' });
  });

  test('old, forged, foreign and other-key cookies are rejected', () => {
    const cookies = new SynCookies(new SeededRng(3));
    const now = 10 * SYN_COOKIE_PERIOD_MS + 5;
    const cookie = cookies.encode(tuple, clientIsn, 3, now);
    // Two periods later: stale.
    assert.equal(cookies.decode(tuple, cookie, clientIsn, now + 2 * SYN_COOKIE_PERIOD_MS), undefined);
    // 32 periods later the 5-bit counter matches again, but the hash covers the full counter.
    assert.equal(cookies.decode(tuple, cookie, clientIsn, now + 32 * SYN_COOKIE_PERIOD_MS), undefined);
    // Another tuple or client ISN.
    assert.equal(cookies.decode({ ...tuple, remotePort: 51001 }, cookie, clientIsn, now), undefined);
    assert.equal(cookies.decode({ ...tuple, remoteAddress: 0xc0a80003 }, cookie, clientIsn, now), undefined);
    assert.equal(cookies.decode(tuple, cookie, clientIsn + 1, now), undefined);
    // Another MSS index: outside the table, or inside it (the hash binds the index too).
    assert.equal(cookies.decode(tuple, (cookie | (7 << 24)) >>> 0, clientIsn, now), undefined);
    assert.equal(cookies.decode(tuple, (cookie & ~(1 << 24)) >>> 0, clientIsn, now), undefined);
    // Another listener's key.
    assert.equal(new SynCookies(new SeededRng(4)).decode(tuple, cookie, clientIsn, now), undefined);
    // Random guesses essentially never pass (24-bit hash).
    const rng = new SeededRng(5);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++)
      if (cookies.decode(tuple, rng.nextU32(), clientIsn, now) !== undefined) accepted++;
    assert.ok(accepted <= 1, `accepted ${accepted}`);
  });

  test('timestamp option bits: WS and SACK-permitted in the low bits of TSval, never ahead of the clock', () => {
    for (const tsNow of [0x1234_5678, 0x1234_5640, 0xffff_ffff, 0x40]) {
      for (const windowScale of [undefined, 0, 7, 14]) {
        for (const sackPermitted of [false, true]) {
          const tsval = encodeCookieTsval(tsNow, { windowScale, sackPermitted });
          const back = (tsNow - tsval) >>> 0;
          assert.ok(back < 64, `tsval ${tsval} vs ${tsNow}`);
          assert.deepEqual(decodeCookieTsecr(tsval), { windowScale, sackPermitted });
        }
      }
    }
  });
});
