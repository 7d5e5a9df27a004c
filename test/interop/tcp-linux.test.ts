/**
 * Interop: TCP between the stack and Linux with netcat. The kernel's OpenBSD nc against the TCP
 * echo, discard and chargen services of `netstack up`; `netstack nc` sending to and receiving from a
 * kernel `nc -l`; `netstack nc -l` accepting the kernel's nc. Each transfer is checked by SHA-256,
 * and each ends by both FINs (nc -N on the kernel side, the end of standard input on ours).
 *
 * Needs Linux, root, /dev/net/tun, the addon and nc (netcat-openbsd); skipped with a loud warning
 * otherwise.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { chargenPattern } from '../../src/cli/services.ts';
import { interopWorld, stackOnTap } from '../helpers/interop-world.ts';
import { waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason, kernelTap } from '../helpers/netstack-cli.ts';
import { payload } from '../sim/tcp-helpers.ts';

const SKIP = cliInteropSkipReason(['nc', 'sha256sum']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the TCP netcat interop tests: ${SKIP} !!!\n`);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('TCP between the stack and Linux (netcat)', { skip: SKIP }, () => {
  const { netns, runner, dir } = interopWorld('tcp');
  let ns: string;
  const STACK = '10.244.0.2';

  before(async () => {
    ({ ns } = await stackOnTap(
      { netns, runner },
      { stack: `${STACK}/24`, kernel: '10.244.0.1/24', args: ['--serve', 'echo,discard,chargen'] },
    ));
  });

  const sh = (command: string, timeout = 60_000) => netns.exec(ns, 'sh', ['-c', command], { timeout });

  function file(name: string, data: Uint8Array): string {
    const path = join(dir, name);
    writeFileSync(path, data);
    return path;
  }

  test('kernel nc to the echo service: 5 MB come back whole, then both sides close', async () => {
    const data = payload(5_000_000, 1);
    const { stdout } = await sh(`nc -N ${STACK} 7 < ${file('echo.bin', data)} | sha256sum`);
    assert.equal(stdout.split(' ')[0], sha(data));
  });

  test('kernel nc to the discard service: 20 MB thrown away, nothing comes back, nc exits 0', async () => {
    const { stdout } = await sh(`nc -N ${STACK} 9 < ${file('discard.bin', payload(20_000_000, 2))} | wc -c`);
    assert.equal(stdout.trim(), '0');
  });

  test('kernel nc to the chargen service: the RFC 864 pattern', async () => {
    const { stdout } = await sh(`nc -d ${STACK} 19 | head -c 100000`);
    const pattern = Buffer.from(chargenPattern()).toString('latin1');
    assert.equal(stdout.length, 100_000);
    assert.equal(
      stdout.slice(0, 74),
      ` !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdefg\r\n`,
    );
    assert.equal(stdout, (pattern + pattern).slice(0, 100_000));
  });

  /** Starts `netstack nc ARGS` with standard input piped and its standard output kept as bytes. */
  function startNc(args: string[]) {
    const nc = runner.start(ns, ['nc', ...args], { stdin: true });
    const chunks: Buffer[] = [];
    nc.child.stdout!.removeAllListeners('data');
    nc.child.stdout!.setEncoding('latin1' as BufferEncoding);
    nc.child.stdout!.on('data', (d: string) => chunks.push(Buffer.from(d, 'latin1')));
    return { nc, received: () => Buffer.concat(chunks) };
  }

  /** A kernel `nc -l` on ADDR PORT running `command` around it; resolves once it listens. */
  async function kernelListener(addr: string, port: number, command: string) {
    const p = netns.spawn(ns, 'sh', ['-c', command]);
    await waitFor(async () => (await netns.exec(ns, 'ss', ['-tln'])).stdout.includes(`${addr}:${port}`), {
      what: 'the kernel nc to listen',
    });
    return p;
  }

  // OpenBSD nc -l quits when the peer's FIN comes (even with standard input left), so the kernel
  // listener gets one direction per test.
  test('netstack nc sends 3 MB to a kernel nc -l -d, then FIN; both exit 0', async () => {
    const k = await kernelTap(netns, ns, '10.245.0.1/24');
    const data = payload(3_000_000, 3);
    const out = join(dir, 'kernel-got.bin');
    const listener = await kernelListener(
      '10.245.0.1',
      5000,
      `nc -l -d 10.245.0.1 5000 > ${out}; sha256sum ${out}`,
    );
    const { nc } = startNc(['--tap', k, '--ipv4', '10.245.0.2/24', '10.245.0.1', '5000']);
    nc.child.stdin!.end(Buffer.from(data));
    assert.equal(await nc.exited, 0, nc.stderr);
    assert.equal(await listener.exited, 0, listener.stderr);
    assert.equal(listener.stdout.split(' ')[0], sha(data));
    assert.match(nc.stderr, /connected to 10\.245\.0\.1 5000/);
  });

  test('netstack nc receives 4 MB from a kernel nc -l -N; it exits once its own input ends too', async () => {
    const k = await kernelTap(netns, ns, '10.248.0.1/24');
    const data = payload(4_000_000, 4);
    const listener = await kernelListener(
      '10.248.0.1',
      5001,
      `nc -l -N 10.248.0.1 5001 < ${file('from-kernel.bin', data)}`,
    );
    const { nc, received } = startNc(['--tap', k, '--ipv4', '10.248.0.2/24', '10.248.0.1', '5001']);
    await waitFor(() => received().length === data.length, { timeout: 30_000, what: '4 MB from the kernel' });
    // The peer's FIN ended our standard output; our side is still open until standard input ends.
    assert.equal(nc.child.exitCode, null);
    nc.child.stdin!.end();
    assert.equal(await nc.exited, 0, nc.stderr);
    assert.equal(await listener.exited, 0, listener.stderr);
    assert.equal(sha(received()), sha(data));
  });

  test('netstack nc -l accepts the kernel nc: 2 MB each way', async () => {
    const k = await kernelTap(netns, ns, '10.246.0.1/24');
    const toStack = payload(2_000_000, 5);
    const fromStack = payload(2_000_000, 6);
    const { nc, received } = startNc(['-l', '--tap', k, '--ipv4', '10.246.0.2/24', '6000']);
    await nc.ready({ stream: 'stderr' });
    // Standard input waits for the connection; each side ends its direction on its own.
    nc.child.stdin!.end(Buffer.from(fromStack));
    const { stdout } = await sh(`nc -N 10.246.0.2 6000 < ${file('to-stack.bin', toStack)} | sha256sum`);
    assert.equal(stdout.split(' ')[0], sha(fromStack));
    assert.equal(await nc.exited, 0, nc.stderr);
    assert.equal(sha(received()), sha(toStack));
    assert.match(nc.stderr, /connection from 10\.246\.0\.1:\d+/);
  });

  test('netstack nc to a closed port: connection refused, one line, exit 1', async () => {
    const k = await kernelTap(netns, ns, '10.247.0.1/24');
    const nc = runner.start(ns, ['nc', '--tap', k, '--ipv4', '10.247.0.2/24', '10.247.0.1', '5999']);
    assert.equal(await nc.exited, 1);
    assert.match(nc.stderr, /^netstack nc: ECONNREFUSED: connection refused$/m);
  });
});
