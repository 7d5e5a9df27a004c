import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkInterface } from '../../../src/core/device/interface.ts';
import { type IpAddr, type IpFamily, parseIp, v4Mapped } from '../../../src/core/ip-address.ts';
import { SeededRng } from '../../../src/core/rng.ts';
import { type BoundListener, ConnectionTable, ListenerTable } from '../../../src/core/tcp/demux.ts';
import { fourTupleBytes } from '../../../src/core/tcp/four-tuple.ts';
import { IsnGenerator } from '../../../src/core/tcp/isn.ts';

const addr = (text: string): IpAddr => {
  const a = parseIp(text);
  assert.ok(a !== undefined, text);
  return a;
};

const eth0 = { name: 'eth0' } as NetworkInterface;
const eth1 = { name: 'eth1' } as NetworkInterface;

function listener(
  name: string,
  family: IpFamily,
  address: string,
  options: { v6Only?: boolean; device?: NetworkInterface } = {},
): BoundListener & { name: string } {
  return {
    name,
    family,
    address: addr(address),
    port: 80,
    v6Only: options.v6Only ?? false,
    device: options.device,
  };
}

describe('TCP demux of both families', () => {
  test('connections: IPv4 and IPv6 tuples are distinct keys; lookups by value, deletes by identity', () => {
    const t = new ConnectionTable<string>();
    t.set(addr('10.0.0.1'), 80, addr('10.0.0.2'), 4000, 'v4');
    t.set(addr('::a00:1'), 80, addr('::a00:2'), 4000, 'v6 compat');
    t.set(addr('2001:db8::1'), 80, addr('fe80::2'), 4000, 'v6');
    assert.equal(t.size, 3);
    assert.equal(t.get(0x0a000001, 80, 0x0a000002, 4000), 'v4');
    assert.equal(t.get(addr('::a00:1'), 80, addr('::a00:2'), 4000), 'v6 compat');
    assert.equal(t.get(addr('2001:db8::1'), 80, addr('fe80::2'), 4000), 'v6');
    assert.equal(t.get(addr('2001:db8::1'), 80, addr('fe80::2'), 4001), undefined);
    assert.equal(t.get(addr('2001:db8::1'), 81, addr('fe80::2'), 4000), undefined);
    t.delete(addr('2001:db8::1'), 80, addr('fe80::2'), 4000, 'other');
    assert.equal(t.size, 3);
    t.delete(addr('2001:db8::1'), 80, addr('fe80::2'), 4000, 'v6');
    assert.equal(t.size, 2);
    assert.deepEqual([...t.values()].sort(), ['v4', 'v6 compat']);
  });

  test('listeners: specific beats wildcard, IPv4 beats dual-stack for IPv4, V6ONLY takes no IPv4, device', () => {
    const t = new ListenerTable<ReturnType<typeof listener>>();
    const dual = listener('dual', 6, '::');
    t.add(dual);
    const lookup = (src: string, dst: string, iface?: NetworkInterface) =>
      t.lookup(addr(src), addr(dst), 80, iface)?.name;
    assert.equal(lookup('10.0.0.9', '10.0.0.1'), 'dual');
    assert.equal(lookup('2001:db8::9', '2001:db8::1'), 'dual');
    assert.equal(t.lookup(addr('10.0.0.9'), addr('10.0.0.1'), 81, undefined), undefined);
    // (The table takes what the layer's conflict check let through; here every kind at once.)
    t.add(listener('any4', 4, '0.0.0.0'));
    assert.equal(lookup('10.0.0.9', '10.0.0.1'), 'any4');
    t.add(listener('mapped', 6, '::ffff:10.0.0.1'));
    assert.equal(lookup('10.0.0.9', '10.0.0.1'), 'mapped');
    assert.equal(lookup('10.0.0.9', '10.0.0.2'), 'any4');
    t.add(listener('specific6', 6, '2001:db8::1'));
    assert.equal(lookup('2001:db8::9', '2001:db8::1'), 'specific6');
    assert.equal(lookup('2001:db8::9', '2001:db8::2'), 'dual');
    t.add(listener('eth1', 6, '::', { device: eth1 }));
    assert.equal(lookup('fe80::9', 'fe80::1', eth1), 'eth1');
    assert.equal(lookup('fe80::9', 'fe80::1', eth0), 'dual');
    t.remove(dual);
    assert.equal(lookup('2001:db8::9', '2001:db8::2', eth0), undefined);
    assert.ok(t.hasPort(80), 'port still used');
  });

  test('listener conflicts as Linux', () => {
    const t = new ListenerTable<ReturnType<typeof listener>>();
    t.add(listener('only6', 6, '::', { v6Only: true }));
    assert.equal(t.conflicts(listener('any4', 4, '0.0.0.0')), false);
    assert.equal(t.conflicts(listener('dual', 6, '::')), true);
    assert.equal(t.conflicts(listener('ll', 6, 'fe80::1')), true);
    assert.equal(t.conflicts(listener('mapped', 6, '::ffff:10.0.0.1')), false);
    t.add(listener('any4', 4, '0.0.0.0'));
    assert.equal(t.conflicts(listener('mapped', 6, '::ffff:10.0.0.1')), true);
    assert.equal(t.conflicts(listener('v4', 4, '10.0.0.1')), true);
    assert.equal(t.conflicts(listener('other device', 4, '10.0.0.1', { device: eth0 })), true);
  });

  test('hash input: the IPv4 layout is 12 bytes; IPv6 hashes all 128 bits of both addresses (RFC 6528)', () => {
    const v4 = fourTupleBytes(
      { localAddress: 0x0a000001, localPort: 80, remoteAddress: 0x0a000002, remotePort: 40000 },
      7,
    );
    assert.deepEqual([...v4], [10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0x9c, 0x40, 0, 0, 0, 7]);
    const base = {
      localAddress: addr('2001:db8::1'),
      localPort: 80,
      remoteAddress: addr('2001:db8::2'),
      remotePort: 1,
    };
    assert.equal(fourTupleBytes(base).length, 36);
    const isn = new IsnGenerator(new SeededRng(1));
    const first = isn.isn(base, 0);
    // Any bit of either address changes the ISN, the high ones too.
    const high = { ...base, remoteAddress: addr('3001:db8::2') };
    const low = { ...base, localAddress: addr('2001:db8::3') };
    assert.notEqual(isn.isn(high, 0), first);
    assert.notEqual(isn.isn(low, 0), first);
    // A mapped address is not the IPv4 one (tuples are kept as on the wire).
    const asV4 = { ...base, localAddress: 0x0a000001, remoteAddress: 0x0a000002 };
    const asMapped = { ...base, localAddress: v4Mapped(0x0a000001), remoteAddress: v4Mapped(0x0a000002) };
    assert.notEqual(isn.isn(asV4, 0), isn.isn(asMapped, 0));
  });
});
