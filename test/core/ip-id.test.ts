import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ipv4IdGenerator } from '../../src/core/ip/ip-id.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { ip } from '../helpers/sim-hosts.ts';

const A = ip('10.0.0.1');
const B = ip('10.0.0.2');
const C = ip('192.0.2.7');
const UDP = 17;

describe('IPv4 ID generator (RFC 7739 5.3)', () => {
  test('one flow never repeats an ID within 65536 packets', () => {
    for (const seed of [1, 2, 3]) {
      const ids = new Ipv4IdGenerator(new SeededRng(seed));
      const seen = new Set<number>();
      for (let n = 0; n < 65536; n++) {
        const id = ids.next(A, B, UDP);
        assert.ok(id >= 0 && id <= 0xffff);
        assert.ok(!seen.has(id), `seed ${seed}: ID ${id} repeated after ${n} packets`);
        seen.add(id);
      }
    }
  });

  test('two flows sent in lockstep are not offset copies of each other', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const ids = new Ipv4IdGenerator(new SeededRng(seed));
      const differences = new Set<number>();
      for (let n = 0; n < 100; n++) {
        const x = ids.next(A, B, UDP);
        const y = ids.next(A, C, UDP);
        differences.add((y - x) & 0xffff);
      }
      assert.ok(differences.size > 50, `seed ${seed}: only ${differences.size} distinct differences`);
    }
  });

  test('different generators (stacks) start flows at unrelated values', () => {
    const first = new Set<number>();
    for (let seed = 1; seed <= 50; seed++)
      first.add(new Ipv4IdGenerator(new SeededRng(seed)).next(A, B, UDP));
    assert.ok(first.size >= 45);
  });
});
