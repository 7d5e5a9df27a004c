import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseReceived } from '../../src/apps/dhcp6/common.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { DHCPV6_MSG, emitDhcpv6 } from '../../src/wire/dhcpv6.ts';

describe('DHCPv6 common', () => {
  test('parseReceived counts a message by role and name, and drops what does not parse', () => {
    const stack = new Simulation({ seed: 1 }).createStack({ ipv6: false });
    const drops = stack.counters.drops<'parse'>('test.drop');
    const solicit = emitDhcpv6({ type: DHCPV6_MSG.solicit, transactionId: 0x123456, options: [] }).bytes();
    const m = parseReceived(stack, 'server', drops, solicit);
    assert.equal(m?.type, DHCPV6_MSG.solicit);
    assert.equal(m?.transactionId, 0x123456);
    assert.equal(parseReceived(stack, 'client', drops, new Uint8Array(2)), undefined);
    const c = stack.counters.snapshot();
    assert.equal(c['dhcp6.server.rx.solicit'], 1);
    assert.equal(c['test.drop.parse'], 1);
    assert.equal(Object.keys(c).filter((k) => k.startsWith('dhcp6.client')).length, 0);
  });
});
