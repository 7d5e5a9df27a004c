import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSER_ENTRY, bundleSize } from '../../bench/bundle.ts';

// Issue 8, item 6: the browser entry bundles without any Node built-in and stays small.
test('the browser bundle imports no Node built-in and gzips to at most 120 KB', async () => {
  const size = await bundleSize(BROWSER_ENTRY);
  assert.deepEqual(size.nodeImports, [], 'Node built-ins reached the browser bundle');
  assert.ok(size.gzippedBytes <= 120_000, `gzipped bundle is ${size.gzippedBytes} bytes`);
  // The bundle runs: two stacks on a simulated wire exchange a datagram.
  const url = `data:text/javascript;base64,${Buffer.from(size.code).toString('base64')}`;
  const m = await import(url);
  const sim = new m.Simulation({ seed: 1 });
  const wire = new m.VirtualNetwork(sim).wire();
  const [a, b] = [0, 1].map((i) => {
    const stack = sim.createStack({ name: `h${i}` });
    stack.ipv4.addAddress(wire.attach(stack, 'eth0'), m.address.parseIpv4(`10.0.0.${i + 1}`), 24);
    return stack;
  });
  const udp = b.udp.open();
  udp.bind(7);
  let got = 0;
  udp.onReadable = () => {
    while (udp.recv()) got++;
  };
  a.udp.open().send(new Uint8Array([1, 2, 3]), m.address.parseIpv4('10.0.0.2'), 7);
  assert.ok(
    sim.runUntil(() => got === 1, 5000),
    'datagram did not arrive through the bundled stack',
  );
});

test('the check sees Node built-ins: the package entry (with the Node bindings) has some', async () => {
  const size = await bundleSize(new URL('../../src/index.ts', import.meta.url).pathname);
  assert.ok(
    size.nodeImports.some((i) => i.startsWith('node:net')),
    size.nodeImports.join(', '),
  );
});
