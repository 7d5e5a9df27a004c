import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { IcmpErrorLimit } from '../../src/core/icmp-error-limit.ts';

describe('IcmpErrorLimit', () => {
  test('a burst of 50, then 1000 a second; what the bucket refuses and what is sent are counted', () => {
    const sim = new Simulation({ seed: 1 });
    const stack = sim.createStack({ ipv6: false });
    const limit = new IcmpErrorLimit(stack, 'test');
    let taken = 0;
    for (let i = 0; i < 60; i++) if (limit.take()) taken++;
    assert.equal(taken, 50);
    sim.advance(10); // 10 ms: 10 tokens
    taken = 0;
    for (let i = 0; i < 20; i++) if (limit.take()) taken++;
    assert.equal(taken, 10);
    limit.sent(3, 1);
    limit.sent(3, 1);
    limit.sent(11, 0);
    const counters = stack.counters.snapshot();
    assert.equal(counters['test.tx.rate-limited'], 20);
    assert.equal(counters['test.tx.errors'], 3);
    assert.equal(counters['test.tx.type-3-code-1'], 2);
    assert.equal(counters['test.tx.type-11-code-0'], 1);
  });
});
