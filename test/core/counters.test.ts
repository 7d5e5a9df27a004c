import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counters } from '../../src/core/counters.ts';

describe('counters', () => {
  test('named counters, drop reasons, sorted snapshot without zeros, nstat-like format', () => {
    const c = new Counters();
    const rx = c.get('ipv4.rx.packets');
    rx.value += 3;
    c.get('ipv4.tx.packets');
    const drops = c.drops<'bad-checksum' | 'truncated'>('ipv4.rx.drop');
    drops.drop('bad-checksum');
    drops.drop('bad-checksum');
    drops.drop('truncated');
    assert.deepEqual(c.snapshot(), {
      'ipv4.rx.drop.bad-checksum': 2,
      'ipv4.rx.drop.truncated': 1,
      'ipv4.rx.packets': 3,
    });
    assert.equal(c.snapshot(true)['ipv4.tx.packets'], 0);
    assert.equal(c.value('nope'), 0);
    assert.match(c.format(), /^ipv4\.rx\.drop\.bad-checksum {2}2$/m);
  });
});
