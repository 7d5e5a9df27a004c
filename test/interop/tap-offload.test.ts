/**
 * Interop: `netstack up` on a TAP with checksum and TCP segmentation offloads (the default; see
 * src/bindings/node/tap.ts) against Linux in a network namespace. The kernel then sends TCP to the
 * stack as GSO super-frames with partial checksums (the addon completes them) and takes the stack's
 * consecutive segments as super-frames the addon builds. curl downloads from and uploads to the
 * HTTP service, nc sends through the echo service and into discard, each checked by SHA-256 or by
 * nc's clean end; a capture on the kernel's side of the TAP holds super-frames both ways (frames
 * longer than the MTU) and nothing tshark calls malformed. `--no-offload` turns it all off. A
 * forwarding stack (`--forward`) asks for MTU-sized segments: TCP between two namespaces through it
 * arrives whole. A TUN device gets the same offloads.
 *
 * Checksums in the capture are not checked: the kernel's capture point sees offloaded frames before
 * their checksums are filled in (it shows the same for any NIC with offloads); the SHA-256 checks
 * stand for the data.
 *
 * Needs Linux, root, /dev/net/tun, the addon, curl, nc (netcat-openbsd), sha256sum, ethtool and
 * tshark (dumpcap); skipped with a loud warning otherwise.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bytesSource } from '../../src/apps/http/bytes-body.ts';
import { NetnsHarness, type NsProcess, waitFor } from '../helpers/netns.ts';
import {
  cliInteropSkipReason,
  disableIpv6,
  type NetstackProcess,
  NetstackRunner,
} from '../helpers/netstack-cli.ts';
import { tsharkExpert, tsharkFields } from '../helpers/tshark.ts';
import { payload } from '../sim/tcp-helpers.ts';

const SKIP = cliInteropSkipReason(['curl', 'nc', 'sha256sum', 'ethtool', 'tshark', 'dumpcap']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the TAP offload interop tests: ${SKIP} !!!\n`);

const MiB = 1024 * 1024;
const STACK = '10.243.0.2';
const KERNEL = '10.243.0.1';
/** The largest frame without segmentation offload: the MTU plus the Ethernet header. */
const MTU_FRAME = 1514;
/** Offloaded checksums are partial where the kernel captures: tshark must not check them. */
const NO_CHECKSUMS = ['-o', 'ip.check_checksum:FALSE', '-o', 'tcp.check_checksum:FALSE'];

function bytesDigest(n: number): string {
  const h = createHash('sha256');
  const next = bytesSource(n);
  for (let b = next(); b; b = next()) h.update(b);
  return h.digest('hex');
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('netstack up on a TAP with offloads, against Linux', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let runner: NetstackRunner;
  let ns: string;
  let dir: string;
  let tap: string;
  let up: NetstackProcess;
  let capture: NsProcess;
  let pcap: string;

  /** Starts `netstack up` on a new TAP with `flags` and gives the kernel side `kernelAddr`. */
  async function startUp(flags: string[], stackAddr: string, kernelAddr: string) {
    const name = netns.uniqueName('t');
    const p = runner.start(ns, ['up', '--tap', name, '--ipv4', `${stackAddr}/24`, ...flags]);
    await p.ready();
    await netns.exec(ns, 'ip', ['addr', 'add', `${kernelAddr}/24`, 'dev', name]);
    return { name, p };
  }

  before(async () => {
    netns = new NetnsHarness();
    runner = new NetstackRunner();
    dir = mkdtempSync(join(tmpdir(), 'netstack-offload-'));
    ns = await netns.createNamespace();
    await disableIpv6(netns, ns);
    ({ name: tap, p: up } = await startUp(['--serve', 'http,echo,discard'], STACK, KERNEL));
    pcap = join(dir, 'kernel-side.pcap');
    capture = netns.spawn(ns, 'dumpcap', ['-q', '-i', tap, '-w', pcap]);
    await waitFor(() => /Capturing on/.test(capture.stderr), { timeout: 20_000, what: 'dumpcap to start' });
  });

  after(async () => {
    await runner?.cleanup();
    await netns?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const sh = (command: string, timeout = 120_000) => netns.exec(ns, 'sh', ['-c', command], { timeout });

  test('the kernel sees a TAP with checksum and TCP segmentation offloads (ethtool -k)', async () => {
    const { stdout } = await sh(`ethtool -k ${tap}`);
    assert.match(stdout, /^tx-checksumming: on/m);
    assert.match(stdout, /^tcp-segmentation-offload: on/m);
  });

  test('curl downloads 8 MiB from the HTTP service: the SHA-256 of what the generator makes', async () => {
    const { stdout } = await sh(
      `curl -sS --fail --max-time 100 http://${STACK}/bytes/${8 * MiB} | sha256sum`,
    );
    assert.equal(stdout.split(' ')[0], bytesDigest(8 * MiB));
  });

  test('curl uploads 8 MiB to /sha256: the answer is the file SHA-256', async () => {
    const data = payload(8 * MiB, 8);
    const file = join(dir, 'upload.bin');
    writeFileSync(file, data);
    const { stdout } = await sh(
      `curl -sS --fail --max-time 100 --data-binary @${file} http://${STACK}/sha256`,
    );
    assert.equal(stdout, `${sha(data)}\n`);
  });

  test('nc through the echo service: 4 MiB come back unchanged; 4 MiB into discard end cleanly', async () => {
    const data = payload(4 * MiB, 4);
    const file = join(dir, 'echo.bin');
    writeFileSync(file, data);
    const echoed = await sh(`nc -N -w 60 ${STACK} 7 < ${file} | sha256sum`);
    assert.equal(echoed.stdout.split(' ')[0], sha(data));
    // -N: FIN after the file; nc ends once the stack closed too (discard closes on the peer's FIN).
    await sh(`nc -N -w 60 ${STACK} 9 < ${file}`);
  });

  test('the kernel-side capture: super-frames both ways, nothing malformed', async () => {
    // Every transfer has ended; SIGINT makes dumpcap write what it has and close the file.
    capture.kill('SIGINT');
    await capture.exited;
    const rows = tsharkFields(pcap, ['frame.len', 'ip.src'], [...NO_CHECKSUMS, '-Y', 'tcp']);
    const longest = (src: string) =>
      Math.max(0, ...rows.filter((r) => r[1] === src).map((r) => Number(r[0])));
    assert.ok(longest(KERNEL) > MTU_FRAME, `kernel to stack: longest frame ${longest(KERNEL)}`);
    assert.ok(longest(STACK) > MTU_FRAME, `stack to kernel: longest frame ${longest(STACK)}`);
    const problems = tsharkExpert(pcap, NO_CHECKSUMS).filter(
      (e) => e.severity === 'error' || /malformed/i.test(e.message),
    );
    assert.deepEqual(problems, []);
  });

  test('up reports no frame dropped for a bad virtio-net header or for its size', async () => {
    // The device line of the report comes when up stops.
    up.kill('SIGTERM');
    await up.exited;
    assert.match(up.stdout, /\(0 oversized\)/);
    assert.doesNotMatch(up.stdout, /tcp\.rx\.drop\.bad-checksum/);
  });

  test('--no-offload: the kernel sees no offload and sends no super-frame; a download still checks', async () => {
    const { name } = await startUp(['--serve', 'http', '--no-offload'], '10.244.0.2', '10.244.0.1');
    const { stdout } = await sh(`ethtool -k ${name}`);
    assert.match(stdout, /^tcp-segmentation-offload: off/m);
    const file = join(dir, 'plain.pcap');
    const plain = netns.spawn(ns, 'dumpcap', ['-q', '-i', name, '-w', file]);
    await waitFor(() => /Capturing on/.test(plain.stderr), { timeout: 20_000, what: 'dumpcap to start' });
    const got = await sh(`curl -sS --fail --max-time 100 http://10.244.0.2/bytes/${2 * MiB} | sha256sum`);
    assert.equal(got.stdout.split(' ')[0], bytesDigest(2 * MiB));
    plain.kill('SIGINT');
    await plain.exited;
    const lengths = tsharkFields(file, ['frame.len'], NO_CHECKSUMS).map((r) => Number(r[0]));
    assert.ok(lengths.length > 100, `${lengths.length} frames captured`);
    assert.ok(Math.max(...lengths) <= MTU_FRAME, `longest frame ${Math.max(...lengths)}`);
  });

  test('--forward: TCP from one namespace to another through the stack arrives whole', async () => {
    const other = await netns.createNamespace();
    await disableIpv6(netns, other);
    const [a, b] = [netns.uniqueName('t'), netns.uniqueName('t')];
    const router = runner.start(ns, [
      'up',
      '--tap',
      a,
      '--ipv4',
      '10.247.1.2/24',
      '--tap',
      b,
      '--ipv4',
      '10.247.2.2/24',
      '--forward',
    ]);
    await router.ready();
    await sh(`ip addr add 10.247.1.1/24 dev ${a} && ip route add 10.247.2.0/24 via 10.247.1.2`);
    await netns.exec(ns, 'ip', ['link', 'set', b, 'netns', other]);
    const inOther = (command: string) => netns.exec(other, 'sh', ['-c', command], { timeout: 120_000 });
    await inOther(
      `ip addr add 10.247.2.1/24 dev ${b} && ip link set ${b} up && ip route add 10.247.1.0/24 via 10.247.2.2`,
    );
    const data = payload(8 * MiB, 9);
    const file = join(dir, 'forwarded.bin');
    writeFileSync(file, data);
    const sink = netns.spawn(other, 'sh', ['-c', 'nc -l 10.247.2.1 5555 | sha256sum']);
    await waitFor(async () => /:5555\b/.test((await inOther('ss -tlnH')).stdout), {
      timeout: 20_000,
      what: 'nc to listen',
    });
    await sh(`nc -N -w 60 10.247.2.1 5555 < ${file}`);
    assert.equal(await sink.exited, 0, sink.stderr);
    assert.equal(sink.stdout.split(' ')[0], sha(data));
  });

  test('a TUN device gets the offloads too: curl down and up check', async () => {
    const name = netns.uniqueName('u');
    const p = runner.start(ns, ['up', '--tun', name, '--ipv4', '10.248.0.2/24', '--serve', 'http']);
    await p.ready();
    await netns.exec(ns, 'ip', ['addr', 'add', '10.248.0.1/24', 'dev', name]);
    assert.match((await sh(`ethtool -k ${name}`)).stdout, /^tcp-segmentation-offload: on/m);
    const got = await sh(`curl -sS --fail --max-time 100 http://10.248.0.2/bytes/${4 * MiB} | sha256sum`);
    assert.equal(got.stdout.split(' ')[0], bytesDigest(4 * MiB));
    const data = payload(4 * MiB, 5);
    const file = join(dir, 'tun-upload.bin');
    writeFileSync(file, data);
    const { stdout } = await sh(
      `curl -sS --fail --max-time 100 --data-binary @${file} http://10.248.0.2/sha256`,
    );
    assert.equal(stdout, `${sha(data)}\n`);
  });
});
