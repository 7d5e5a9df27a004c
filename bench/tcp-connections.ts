/**
 * Many idle TCP connections between two simulated stacks (bench/scale.ts): opens N (default
 * 10,000), holds them, closes them all; prints the heap per connection end, accepts per second
 * and the wall-clock time to open and to close them.
 *
 *   node --expose-gc --import tsx bench/tcp-connections.ts [N]
 */
import { simScale } from './scale.ts';

if ((globalThis as { gc?: () => void }).gc === undefined) {
  console.warn('run with --expose-gc for a meaningful heap figure');
}
console.log(JSON.stringify(simScale(Number(process.argv[2] ?? 10_000))));
