/**
 * Checks a capture the `netstack` command wrote (`--pcap`): every frame the stack sent (selected by
 * a tshark display filter, e.g. `sentBy(macs)`) dissects with no malformed packet, no checksum error
 * and no other warning or error. Without tshark the check is skipped with a loud warning (CI
 * installs it).
 */
import assert from 'node:assert/strict';
import { tsharkAvailable, tsharkExpert, tsharkFields } from './tshark.ts';

/** A display filter for frames sent from one of these MAC addresses. */
export function sentBy(macs: readonly string[]): string {
  assert.ok(macs.length > 0, 'no MAC address of the stack to select its frames by');
  return macs.map((m) => `eth.src == ${m}`).join(' || ');
}

export function assertCleanCapture(path: string, filter: string, options: { atLeast: number }): void {
  if (!tsharkAvailable()) return;
  const select = ['-Y', filter];
  const sent = tsharkFields(path, ['frame.number'], select).length;
  assert.ok(
    sent >= options.atLeast,
    `only ${sent} frames from the stack in ${path}, expected ${options.atLeast}+`,
  );
  const problems = tsharkExpert(path, select).filter(
    (e) => e.severity === 'error' || e.severity === 'warning',
  );
  assert.deepEqual(
    problems.slice(0, 10),
    [],
    `${problems.length} tshark complaints about frames the stack sent`,
  );
}
