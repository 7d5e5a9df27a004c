import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  parseTcpOptions,
  TCP_MAX_OPTIONS_LEN,
  type TcpOptions,
  tcpOptionsLength,
  writeTcpOptions,
} from '../../src/wire/tcp-options.ts';
import { fromHex, hex } from '../helpers/fixtures.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { tcpOptionsArb } from '../helpers/tcp-arbitraries.ts';

// Option areas of segments Linux sent in test/fixtures/tcp.pcap and tcp-sack.pcap (scripts/fixtures/tcp.sh).
const LINUX_SYN = '020405b4 0402080a 2bb50146 00000000 0103030a';
const LINUX_DATA = '0101080a 2bb50146 0db75bed';
const LINUX_SACK3 =
  '0101080a 3e2b7ce4 c6ac3290 0101051a 9c5a96fe 9c5aad9e 9c5a8606 9c5a9156 9c5a5e6e 9c5a805e';

/** Writes options into a fresh buffer and returns exactly the written bytes. */
function write(opts: TcpOptions): Uint8Array {
  const buf = new Uint8Array(64).fill(0xee);
  const n = writeTcpOptions(opts, buf, 3);
  assert.equal(n, tcpOptionsLength(opts), 'tcpOptionsLength agrees with what is written');
  assert.equal(n % 4, 0, 'padded to 32 bits');
  assert.equal(buf[2], 0xee, 'nothing written before the offset');
  assert.equal(buf[3 + n], 0xee, 'nothing written past the length');
  return buf.subarray(3, 3 + n);
}

function parse(text: string) {
  return parseTcpOptions(fromHex(text));
}

describe('TCP options', () => {
  test('golden: Linux SYN, data and SACK option areas parse and are laid out again byte for byte', () => {
    const syn = parse(LINUX_SYN);
    assert.deepEqual(syn, {
      ok: true,
      value: { mss: 1460, sackPermitted: true, timestamp: { value: 0x2bb50146, echo: 0 }, windowScale: 10 },
    });
    const data = parse(LINUX_DATA);
    assert.deepEqual(data, { ok: true, value: { timestamp: { value: 0x2bb50146, echo: 0x0db75bed } } });
    const sack = parse(LINUX_SACK3);
    assert.deepEqual(sack, {
      ok: true,
      value: {
        timestamp: { value: 0x3e2b7ce4, echo: 0xc6ac3290 },
        sackBlocks: [
          { left: 0x9c5a96fe, right: 0x9c5aad9e },
          { left: 0x9c5a8606, right: 0x9c5a9156 },
          { left: 0x9c5a5e6e, right: 0x9c5a805e },
        ],
      },
    });
    for (const [text, parsed] of [
      [LINUX_SYN, syn],
      [LINUX_DATA, data],
      [LINUX_SACK3, sack],
    ] as const) {
      assert.ok(parsed.ok);
      assert.equal(hex(write(parsed.value)), text.replace(/ /g, ''));
    }
    assert.equal(tcpOptionsLength(sack.ok ? sack.value : {}), TCP_MAX_OPTIONS_LEN);
  });

  test('layout: each option where Linux puts it, aligned, padded with zeros', () => {
    const cases: [TcpOptions, string][] = [
      [{}, ''],
      [{ mss: 536 }, '02040218'],
      // Linux with timestamps off: MSS, NOP NOP SACK-permitted, NOP window scale.
      [{ mss: 1460, sackPermitted: true, windowScale: 7 }, '020405b4 01010402 01030307'],
      [{ sackPermitted: true }, '01010402'],
      [{ windowScale: 14 }, '0103030e'],
      [{ timestamp: { value: 1, echo: 0xffff_ffff } }, '0101080a 00000001 ffffffff'],
      [
        { timestamp: { value: 2, echo: 3 }, sackBlocks: [{ left: 10, right: 20 }] },
        '0101080a 00000002 00000003 0101050a 0000000a 00000014',
      ],
      [
        {
          sackBlocks: [
            { left: 1, right: 2 },
            { left: 3, right: 4 },
            { left: 5, right: 6 },
            { left: 7, right: 8 },
          ],
        },
        '01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008',
      ],
      [{ sackBlocks: [] }, ''],
      [{ unknown: [{ kind: 30, data: Uint8Array.of(1, 2, 3) }] }, '1e050102 03000000'],
      [{ mss: 1400, unknown: [{ kind: 99, data: new Uint8Array(0) }] }, '02040578 63020000'],
    ];
    for (const [opts, expected] of cases) {
      assert.equal(hex(write(opts)), expected.replace(/ /g, ''), JSON.stringify(opts));
    }
  });

  test('accepted: NOPs skipped, EOL ends the list, unknown kinds kept, a repeated option keeps the last', () => {
    assert.deepEqual(parse('01010101'), { ok: true, value: {} });
    assert.deepEqual(parse(''), { ok: true, value: {} });
    // Whatever follows End of Option List is padding, even bytes that would be malformed options.
    assert.deepEqual(parse('00020000'), { ok: true, value: {} });
    assert.deepEqual(parse('020405b4 00 0201'), { ok: true, value: { mss: 1460 } });
    assert.deepEqual(parse('1e02 020405b4 2203aa 01'), {
      ok: true,
      value: {
        unknown: [
          { kind: 30, data: new Uint8Array(0) },
          { kind: 34, data: Uint8Array.of(0xaa) },
        ],
        mss: 1460,
      },
    });
    assert.deepEqual(parse('02040218 020405b4'), { ok: true, value: { mss: 1460 } });
  });

  test('malformed (RFC 9293 MUST-7): illegal lengths give typed errors', () => {
    const bad = 'bad-option-length';
    const short = 'option-truncated';
    const cases: [string, string][] = [
      ['0200', bad], // length 0 (would loop forever if trusted)
      ['0201', bad], // length 1 (smaller than kind + length)
      ['1e00', bad], // an unknown kind with length 0
      ['02', short], // the length byte is missing
      ['01010102', short], // the same after NOPs
      ['020405', short], // length beyond the end
      ['63ff00', short], // an unknown kind whose length runs past the end
      ['020305', bad], // MSS with length 3
      ['02050000 00', bad], // MSS with length 5
      ['03040700', bad], // window scale with length 4
      ['030207', bad], // window scale with length 2
      ['040300', bad], // SACK-permitted with length 3
      ['0808 00000000 0000', bad], // timestamps with length 8
      ['080b 00000000 00000000 00', bad], // timestamps with length 11
      ['0502', bad], // SACK with no block
      ['0509 00000000 000000', bad], // SACK with a partial block
      ['050e 00000000 00000000 00000000', bad], // SACK with a block and a half
      ['020405b4 0200', bad], // a good option, then a bad one
    ];
    for (const [text, error] of cases) assert.deepEqual(parse(text), { ok: false, error }, text);
  });

  test('round trip: write then parse gives back any option set that fits', () => {
    fc.assert(
      fc.property(tcpOptionsArb, (opts) => {
        const bytes = write(opts);
        assert.ok(bytes.length <= TCP_MAX_OPTIONS_LEN);
        const parsed = parseTcpOptions(bytes);
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.value, opts);
      }),
      { numRuns: RUNS },
    );
  });

  test('no throw: random bytes, truncations and byte flips of Linux option areas', () => {
    assertNeverThrows(parseTcpOptions, [fromHex(LINUX_SYN), fromHex(LINUX_DATA), fromHex(LINUX_SACK3)]);
  });
});
