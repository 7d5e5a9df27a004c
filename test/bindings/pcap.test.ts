import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { MemoryCapture } from '../../src/bindings/pcap/capture.ts';
import { openCaptureFile } from '../../src/bindings/pcap/pcap-file.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, readCapture } from '../../src/bindings/pcap/pcap-format.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { tsharkAvailable, tsharkFields } from '../helpers/tshark.ts';

const dir = mkdtempSync(join(tmpdir(), 'netstack-pcap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const packets = loadFixture('udp.pcap');

describe('pcap and pcapng', () => {
  for (const format of ['pcap', 'pcapng'] as const) {
    test(`${format}: written files read back identically, in memory and on disk`, () => {
      const mem = new MemoryCapture(format, [{ linkType: LINKTYPE_ETHERNET, name: 'eth0' }]);
      const path = join(dir, `rt.${format}`);
      const file = openCaptureFile(path, { interfaces: [{ linkType: LINKTYPE_ETHERNET, name: 'eth0' }] });
      packets.forEach((p, i) => {
        const packet = { timestamp: 1_767_225_600_000 + i * 1.234567, data: p.data };
        mem.write(packet);
        file.write(packet);
      });
      file.close();
      const onDisk = new Uint8Array(readFileSync(path));
      assert.deepEqual(onDisk, mem.bytes());
      const back = readCapture(onDisk);
      assert.ok(back.ok);
      assert.equal(back.value.format, format);
      assert.deepEqual(back.value.linkTypes, [LINKTYPE_ETHERNET]);
      assert.equal(back.value.packets.length, packets.length);
      back.value.packets.forEach((p, i) => {
        assert.deepEqual(p.data, packets[i]!.data);
        assert.ok(Math.abs(p.timestamp - (1_767_225_600_000 + i * 1.234567)) < 1e-3);
      });
    });

    test(`${format}: tshark reads the file with nanosecond timestamps`, { skip: !tsharkAvailable() }, () => {
      const path = join(dir, `ts.${format}`);
      const file = openCaptureFile(path, { interfaces: [{ linkType: LINKTYPE_ETHERNET, name: 'eth0' }] });
      file.write({ timestamp: 1_767_225_600_000.5, data: packets[0]!.data });
      file.write({ timestamp: 1_767_225_601_500, data: packets[1]!.data });
      file.close();
      const rows = tsharkFields(path, ['frame.time_epoch', 'frame.len', 'frame.protocols']);
      assert.equal(rows.length, 2);
      assert.equal(rows[0]![0], '1767225600.000500000');
      assert.equal(rows[1]![0], '1767225601.500000000');
      assert.equal(Number(rows[0]![1]), packets[0]!.data.length);
    });
  }

  test('pcapng with several interfaces keeps each packet on its own interface', () => {
    const mem = new MemoryCapture('pcapng', [
      { linkType: LINKTYPE_ETHERNET, name: 'eth0' },
      { linkType: LINKTYPE_RAW, name: 'tun0' },
    ]);
    mem.write({ timestamp: 1, data: packets[0]!.data, interfaceId: 0 });
    mem.write({ timestamp: 2, data: packets[0]!.data.subarray(14), interfaceId: 1 });
    const back = readCapture(mem.bytes());
    assert.ok(back.ok);
    assert.deepEqual(back.value.linkTypes, [LINKTYPE_ETHERNET, LINKTYPE_RAW]);
    assert.deepEqual(
      back.value.packets.map((p) => p.interfaceId),
      [0, 1],
    );
  });

  test('the reader reports malformed files and never throws', () => {
    assert.deepEqual(readCapture(new Uint8Array(3)), { ok: false, error: 'truncated' });
    assert.deepEqual(readCapture(new Uint8Array(24)), { ok: false, error: 'bad-magic' });
    const mem = new MemoryCapture('pcapng', [{ linkType: LINKTYPE_ETHERNET }]);
    mem.write({ timestamp: 1, data: packets[0]!.data });
    const pcap = new MemoryCapture('pcap', [{ linkType: LINKTYPE_ETHERNET }]);
    pcap.write({ timestamp: 1, data: packets[0]!.data });
    assertNeverThrows(readCapture, [mem.bytes(), pcap.bytes()]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const bytes = new Uint8Array([...mem.bytes().subarray(0, 28), ...tail]);
        readCapture(bytes);
      }),
      { numRuns: RUNS },
    );
  });
});
