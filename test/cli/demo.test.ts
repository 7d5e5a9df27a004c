import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readCapture } from '../../src/bindings/pcap/pcap-format.ts';
import { runDemo } from '../../src/cli/demo.ts';

async function demo(seed: number, pcap?: string): Promise<string[]> {
  const lines: string[] = [];
  await runDemo({
    seed,
    frames: 300,
    httpBytes: 200_000,
    loss: 0.05,
    delay: 10,
    pcap,
    log: (l) => lines.push(l),
  });
  return lines;
}

describe('the demo (npm start)', () => {
  test('DHCP, DNS by name, Node http by name, IPv6 (SLAAC, AAAA, ping, HTTP over TCP/IPv6), pings across the router, time exceeded, fragments, UDP echo, HTTP over TCP, and a pcapng', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netstack-demo-'));
    try {
      const pcap = join(dir, 'demo.pcapng');
      const out = (await demo(1, pcap)).join('\n');
      assert.match(out, /init → selecting → requesting → checking → bound/);
      assert.match(
        out,
        /address 192\.0\.2\.1\d\d\/24, router 192\.0\.2\.1, DNS 198\.51\.100\.10, domain example/,
      );
      assert.match(out, /server → 198\.51\.100\.10/);
      // Node's http module, unchanged, both ends on netstack-ts, the name through stack.dns.
      assert.match(out, /lookup server → 198\.51\.100\.10 \(stack\.dns/);
      assert.match(out, /connected from 192\.0\.2\.1\d\d:\d+ to 198\.51\.100\.10:8080/);
      assert.match(
        out,
        /HTTP\/1\.1 200 OK, text\/html, \d+ bytes\n {2}<!doctype html>.*Hello from a Node http\.Server on netstack-ts/,
      );
      // Dual stack: SLAAC from the router's advertisement, AAAA, ping and TCP over IPv6.
      assert.match(
        out,
        /address 2001:db8:1:0(:[0-9a-f]{1,4}){4}\/64 from the advertised prefix 2001:db8:1::\/64 \(SLAAC/,
      );
      assert.match(out, /default router fe80::[0-9a-f:]+%eth0/);
      assert.match(out, /server6 → 2001:db8:2::10 \(AAAA/);
      assert.match(out, /64 bytes from 2001:db8:2::10: icmp_seq=\d+ hlim=63/);
      assert.match(
        out,
        /the server accepted \[2001:db8:1:0(:[0-9a-f]{1,4}){4}\]:\d+ on \[2001:db8:2::10\]:80/,
      );
      assert.match(
        out,
        /HTTP 200 OK, text\/html; charset=utf-8, \d+ bytes, complete.*\n {2}This page came over a TCP\/IP stack/,
      );
      assert.match(out, /router forwarded \d+ IPv4 and [1-9]\d* IPv6 packets/);
      assert.match(out, /64 bytes from 198\.51\.100\.10: icmp_seq=\d+ ttl=63/);
      assert.match(out, /From 192\.0\.2\.1 icmp_seq=1 Time to live exceeded/);
      assert.match(out, /4008 bytes from 198\.51\.100\.10/);
      assert.match(out, /HTTP 200, 200000 of 200000 bytes, complete/);
      assert.match(out, /final cwnd \d+ bytes/);
      const echoed = Number(/echoed (\d+)/.exec(out)?.[1]);
      assert.ok(echoed > 240 && echoed < 300, `echoed ${echoed}`);
      const capture = readCapture(new Uint8Array(readFileSync(pcap)));
      assert.ok(capture.ok);
      assert.equal(capture.value.format, 'pcapng');
      assert.deepEqual(capture.value.linkTypes, [1, 1]);
      assert.ok(capture.value.packets.length > 600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the same seed prints the same report; another seed another', async () => {
    assert.deepEqual(await demo(7), await demo(7));
    assert.notDeepEqual(await demo(7), await demo(8));
  });
});
