import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../../src/bindings/memory/simulation.ts';
import { PathMtuCache } from '../../../src/core/ip6/pmtu.ts';
import { MINUTE } from '../../../src/core/time.ts';
import { parseIpv6 } from '../../../src/wire/address.ts';

describe('path MTU cache (RFC 8201)', () => {
  test('lowers only, never below 1280, expires after 10 minutes, bounded', () => {
    const sim = new Simulation({ seed: 1 });
    const stack = sim.createStack();
    const cache = new PathMtuCache(stack);
    const d = parseIpv6('2001:db8::1')!;
    assert.equal(cache.get(d, 1500), 1500);
    assert.equal(cache.update(d, 1400), true);
    assert.equal(cache.update(d, 1450), false);
    assert.equal(cache.get(d, 1500), 1400);
    cache.update(d, 600);
    assert.equal(cache.get(d, 1500), 1280);
    sim.advance(10 * MINUTE);
    assert.equal(cache.get(d, 1500), 1500);
    cache.maxEntries = 4;
    for (let i = 0; i < 10; i++) cache.update(parseIpv6(`2001:db8::${i + 10}`)!, 1300);
    assert.equal(cache.size, 4);
    assert.equal(stack.counters.value('ipv6.pmtu.evicted'), 6);
  });
});
