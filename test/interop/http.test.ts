/**
 * Interop: the HTTP service of `netstack up --serve http` and `netstack fetch` against Linux in a
 * network namespace. curl downloads /bytes/N from 1 byte to 1 GiB and uploads to /sha256 (by
 * Content-Length and chunked), each checked by SHA-256; 1,000 connections from the kernel open at
 * once, all answered; `ss -tino` shows SACK, window scaling and timestamps negotiated; `netstack
 * fetch` downloads from `python3 -m http.server`; a transfer through loss, delay and reordering ends
 * with the right SHA-256, and tshark finds nothing malformed in what the stack sent.
 *
 * No netem: the kernels this runs on are built without sch_netem (`tc qdisc add ... netem` fails
 * with "Specified qdisc kind is unknown"), and no other qdisc they have delays or reorders. So the
 * impaired transfer drops 3% of the packets at random in the kernel with iptables (`-m statistic
 * --mode random --probability 0.03 -j DROP`, on the TAP both ways: data and ACKs), and delays what
 * the stack receives by 20 ms and reorders 5% of it inside the stack (`netstack up --impair
 * delay=20,reorder=0.05`, the simulated network's impairment code on the TAP's receive path).
 *
 * Needs Linux, root, /dev/net/tun, the addon, curl and sha256sum (iptables for the impaired
 * transfer, python3 for the fetch); skipped with a loud warning otherwise.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { bytesSource } from '../../src/apps/http/bytes-body.ts';
import { interopWorld, stackOnTap } from '../helpers/interop-world.ts';
import { waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason, kernelTap, type NetstackProcess, readyMacs } from '../helpers/netstack-cli.ts';
import { pythonHttpServer } from '../helpers/python-http-server.ts';
import { sentBy } from '../helpers/stack-capture.ts';
import { tsharkAvailable, tsharkExpert, tsharkFields } from '../helpers/tshark.ts';
import { payload } from '../sim/tcp-helpers.ts';

const SKIP = cliInteropSkipReason(['curl', 'sha256sum']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the HTTP interop tests: ${SKIP} !!!\n`);
const NO_IPTABLES = cliInteropSkipReason(['iptables']);
const NO_PYTHON = cliInteropSkipReason(['python3']);

const MiB = 1024 * 1024;

function bytesDigest(n: number): string {
  const h = createHash('sha256');
  const next = bytesSource(n);
  for (let b = next(); b; b = next()) h.update(b);
  return h.digest('hex');
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Opens `n` connections to addr:80, sends one GET /bytes/100 on each once all are established,
 * and prints {established, ok, bad} as JSON once every response has ended.
 */
function concurrentScript(addr: string, n: number, expected: string): string {
  return `const net = require('node:net');
const crypto = require('node:crypto');
const sockets = [];
let established = 0, ok = 0, bad = 0;
const done = () => { if (ok + bad === ${n}) console.log(JSON.stringify({ established, ok, bad })); };
for (let i = 0; i < ${n}; i++) {
  const s = net.connect(80, '${addr}');
  const chunks = [];
  s.on('connect', () => { if (++established === ${n}) for (const t of sockets)
    t.write('GET /bytes/100 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'); });
  s.on('data', (d) => chunks.push(d));
  s.on('end', () => {
    const r = Buffer.concat(chunks);
    const body = r.subarray(r.indexOf('\\r\\n\\r\\n') + 4);
    if (r.toString('latin1').startsWith('HTTP/1.1 200 OK') &&
        crypto.createHash('sha256').update(body).digest('hex') === '${expected}') ok++; else bad++;
    done();
  });
  s.on('error', (e) => { bad++; console.error(e.message); done(); });
  sockets.push(s);
}`;
}

describe('HTTP between the stack and Linux', { skip: SKIP }, () => {
  const { netns, runner, dir } = interopWorld('http');
  let ns: string;
  const STACK = '10.241.0.2';

  before(async () => {
    ({ ns } = await stackOnTap(
      { netns, runner },
      { stack: `${STACK}/24`, kernel: '10.241.0.1/24', args: ['--serve', 'http'] },
    ));
  });

  const sh = (command: string, timeout = 60_000) => netns.exec(ns, 'sh', ['-c', command], { timeout });

  for (const size of [1, 1024, MiB, 64 * MiB, 1024 * MiB]) {
    test(`curl downloads /bytes/${size}: the SHA-256 of what the generator makes`, async () => {
      const start = performance.now();
      const { stdout } = await sh(
        `curl -sS --fail --max-time 170 http://${STACK}/bytes/${size} | sha256sum`,
        180_000,
      );
      const seconds = (performance.now() - start) / 1000;
      assert.equal(stdout.split(' ')[0], bytesDigest(size));
      if (size >= 64 * MiB)
        console.log(
          `# curl /bytes/${size}: ${seconds.toFixed(1)} s, ${(size / MiB / seconds).toFixed(1)} MiB/s`,
        );
    });
  }

  for (const [name, size, flags] of [
    ['1 MiB by Content-Length', MiB, ''],
    ['64 MiB by Content-Length', 64 * MiB, ''],
    ['16 MiB chunked', 16 * MiB, "-H 'Transfer-Encoding: chunked'"],
  ] as const) {
    test(`curl uploads ${name} to /sha256: the answer is the file's SHA-256`, async () => {
      const file = join(dir, `upload-${size}.bin`);
      const data = payload(size, size);
      writeFileSync(file, data);
      const start = performance.now();
      const { stdout } = await sh(
        `curl -sS --fail --max-time 110 ${flags} --data-binary @${file} http://${STACK}/sha256`,
        120_000,
      );
      const seconds = (performance.now() - start) / 1000;
      assert.equal(stdout, `${sha(data)}\n`);
      if (size >= 64 * MiB)
        console.log(
          `# curl upload ${size}: ${seconds.toFixed(1)} s, ${(size / MiB / seconds).toFixed(1)} MiB/s`,
        );
    });
  }

  test('1,000 connections from the kernel open at once, every one answered', async () => {
    const peer = netns.spawn(ns, process.execPath, ['-e', concurrentScript(STACK, 1000, bytesDigest(100))]);
    const timer = setTimeout(() => peer.kill('SIGKILL'), 60_000);
    const code = await peer.exited;
    clearTimeout(timer);
    assert.equal(code, 0, peer.stderr);
    assert.deepEqual(JSON.parse(peer.stdout), { established: 1000, ok: 1000, bad: 0 });
  });

  test('the kernel negotiated SACK, window scaling and timestamps (ss -tino during a transfer)', async () => {
    const curl = netns.spawn(ns, 'curl', ['-sS', '-o', '/dev/null', `http://${STACK}/bytes/${256 * MiB}`]);
    const line = await waitFor(
      async () => {
        const { stdout } = await netns.exec(ns, 'ss', ['-tino', 'state', 'established', 'dst', STACK]);
        return stdout.split('\n').find((l) => /bytes_received:/.test(l));
      },
      { timeout: 20_000, what: 'an established connection in ss' },
    );
    assert.match(line, /\bsack\b/);
    assert.match(line, /\bts\b/);
    assert.match(line, /\bwscale:\d+,\d+/);
    assert.equal(await curl.exited, 0, curl.stderr);
  });

  test('netstack fetch downloads from python3 -m http.server', { skip: NO_PYTHON }, async () => {
    const www = join(dir, 'www');
    rmSync(www, { recursive: true, force: true });
    const data = payload(16 * MiB, 77);
    const file = join(dir, 'fetched.bin');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'data.bin'), data);
    const k = await kernelTap(netns, ns, '10.242.0.1/24');
    await pythonHttpServer(netns, ns, { bind: '10.242.0.1', port: 8000, directory: www });
    const fetch = runner.start(ns, [
      'fetch',
      '--json',
      '--tap',
      k,
      '--ipv4',
      '10.242.0.2/24',
      'http://10.242.0.1:8000/data.bin',
      '-o',
      file,
    ]);
    assert.equal(await fetch.exited, 0, fetch.stderr);
    assert.equal(sha(readFileSync(file)), sha(data));
    const events = fetch.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = events.find((e) => e.event === 'done')!;
    assert.equal(done.bytes, data.length);
    assert.equal(done.status, 200);
    console.log(`# netstack fetch from python: ${((done.bytesPerSecond as number) / MiB).toFixed(1)} MiB/s`);
  });
  if (NO_PYTHON !== undefined)
    console.warn(`!!! SKIPPING netstack fetch from python3 -m http.server: ${NO_PYTHON}`);
});

describe('HTTP through loss, delay and reordering (iptables and --impair instead of netem)', {
  skip: SKIP ?? NO_IPTABLES,
}, () => {
  const { netns, runner, dir } = interopWorld('http-lossy');
  const pcap = join(dir, 'lossy.pcap');
  let ns: string;
  let up: NetstackProcess;
  let tap: string;
  const STACK = '10.243.0.2';

  before(async () => {
    ({ ns, tap, up } = await stackOnTap(
      { netns, runner },
      {
        stack: `${STACK}/24`,
        kernel: '10.243.0.1/24',
        args: ['--serve', 'http', '--impair', 'delay=20,reorder=0.05', '--pcap', pcap],
      },
    ));
    for (const [chain, dirFlag] of [
      ['INPUT', '-i'],
      ['OUTPUT', '-o'],
    ] as const) {
      await netns.exec(ns, 'iptables', [
        '-A',
        chain,
        dirFlag,
        tap,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        '0.03',
        '-j',
        'DROP',
      ]);
    }
  });

  test('4 MiB each way (download and upload at once) end with equal SHA-256; nothing malformed', async () => {
    const size = 4 * MiB;
    const file = join(dir, 'up.bin');
    const data = payload(size, 5);
    writeFileSync(file, data);
    const sh = (command: string) => netns.exec(ns, 'sh', ['-c', command], { timeout: 180_000 });
    const [down, upload] = await Promise.all([
      sh(`curl -sS --fail --max-time 170 http://${STACK}/bytes/${size} | sha256sum`),
      sh(`curl -sS --fail --max-time 170 --data-binary @${file} http://${STACK}/sha256`),
    ]);
    assert.equal(down.stdout.split(' ')[0], bytesDigest(size));
    assert.equal(upload.stdout, `${sha(data)}\n`);
    // The impairments were there: iptables dropped packets both ways. With offloads a packet is a
    // super-frame of up to 64 KiB, so 4 MiB each way is a few hundred packets and ~3% of them.
    const { stdout: rules } = await netns.exec(ns, 'iptables', ['-L', '-v', '-n', '-x']);
    const dropped = [...rules.matchAll(/^\s*(\d+)\s+\d+\s+DROP/gm)].map((m) => Number(m[1]));
    assert.ok(dropped.length === 2 && dropped.every((n) => n > 0), `iptables drops: ${dropped}`);
    const macs = readyMacs(up.stdout);
    assert.equal(await runner.stop(up), 0, up.stderr);
    assert.match(up.stdout, /tcp\.rx\.segments/);
    if (!tsharkAvailable()) return;
    assert.ok(existsSync(pcap));
    const select = ['-Y', sentBy(macs)];
    assert.ok(tsharkFields(pcap, ['frame.number'], select).length > 1000);
    // Retransmissions and out-of-order notes are expected here; malformed segments, bad checksums
    // and other errors are not.
    const problems = tsharkExpert(pcap, select).filter(
      (e) => e.severity === 'error' || /malformed|checksum/i.test(e.message),
    );
    assert.deepEqual(problems.slice(0, 10), []);
  });
});
