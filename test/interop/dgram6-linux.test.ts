/**
 * Interop: `stack.dgram` udp6 on a TAP device against Linux's UDP in a network namespace, through
 * a small python3 socket script on the Linux side (a dual-stack echo server on `::` that answers
 * with the address it saw, and a client that prints the reply and the address it came from):
 *
 * - a udp6 socket on the stack sends to Linux's global address and to its link-local address with
 *   the zone (`fe80::...%tap`); the echo comes back with the right rinfo, and Linux saw the
 *   stack's global and link-local (with its zone) addresses;
 * - Linux sends to a dual-stack udp6 socket on the stack over the global address, the link-local
 *   address with Linux's zone, and IPv4: rinfo has Linux's address, `fe80::...%tap` and
 *   `::ffff:a.b.c.d`, and the replies reach Linux from the addresses it sent to.
 *
 * Needs Linux, root, /dev/net/tun, the native addon, iproute2 and python3; skipped loudly otherwise.
 */
import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import '../../src/api/install.ts';
import type { AttachedDevice, TapDevice } from '../../src/bindings/node/tap.ts';
import type { Stack } from '../../src/core/stack.ts';
import { ipv6IsLinkLocal, ipv6ToString } from '../../src/wire/address.ts';
import { kernelIpv6Addrs } from '../helpers/interop-world.ts';
import { NetnsHarness, waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason } from '../helpers/netstack-cli.ts';
import { type StackInNamespace, stackInNamespace } from '../helpers/stack-in-namespace.ts';

const KERNEL4 = '10.223.0.1';
const STACK4 = '10.223.0.2';
const KERNEL6 = '2001:db8:66::1';
const STACK6 = '2001:db8:66::2';
const ECHO_PORT = 9000;

/** The Linux side: `server` echoes `<data> seen <sender>`; `client HOST PORT MSG` prints `<reply> from <sender>`. */
const SCRIPT = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
def text(addr):
    zone = '%' + socket.if_indextoname(addr[3]) if addr[3] and '%' not in addr[0] else ''
    return addr[0] + zone
if sys.argv[1] == 'server':
    s.bind(('::', ${ECHO_PORT}))
    print('ready', flush=True)
    while True:
        data, addr = s.recvfrom(65535)
        s.sendto(data + b' seen ' + text(addr).encode(), addr)
else:
    host, port, msg = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if ':' not in host:
        host = '::ffff:' + host
    s.settimeout(5)
    s.sendto(msg.encode(), socket.getaddrinfo(host, port, socket.AF_INET6, socket.SOCK_DGRAM)[0][4])
    data, addr = s.recvfrom(65535)
    print(data.decode() + ' from ' + text(addr), flush=True)
`;

const SKIP = cliInteropSkipReason(['python3']);
if (SKIP !== undefined)
  console.warn(`\n!!! SKIPPING the stack.dgram udp6 interop tests against Linux: ${SKIP} !!!\n`);

describe('stack.dgram udp6 against Linux over a TAP device', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let ns: string;
  let world: StackInNamespace | undefined;
  let stack: Stack;
  let tap: AttachedDevice<TapDevice>;
  let dev: string;
  let kernelLL: string;
  let stackLL: string;

  before(async () => {
    netns = new NetnsHarness();
    // No DAD on the Linux side: its addresses are usable at once.
    world = await stackInNamespace(netns, {
      name: 'dgram6-interop',
      ipv6: 'no-dad',
      stack4: `${STACK4}/24`,
      stack6: `${STACK6}/64`,
      kernel4: `${KERNEL4}/24`,
      kernel6: `${KERNEL6}/64`,
    });
    ({ ns, stack, tap, dev } = world);
    kernelLL = await waitFor(
      async () => (await kernelIpv6Addrs(netns, ns, dev, 'link')).find((a) => a.tentative !== true)?.local,
      { timeout: 10_000, what: `Linux's link-local address on ${dev}` },
    );
    stackLL = await waitFor(
      () => {
        const a = stack
          .ipv6!.listAddresses(tap.iface)
          .find((x) => ipv6IsLinkLocal(x.addr) && x.state === 'preferred');
        return a === undefined ? undefined : ipv6ToString(a.addr);
      },
      { timeout: 10_000, what: "the stack's link-local address (DAD)" },
    );
  });

  after(async () => {
    world?.close();
    await netns?.cleanup();
  });

  test('stack.dgram sends to Linux over the global and the link-local address with its zone', async () => {
    const server = netns.spawn(ns, 'python3', ['-c', SCRIPT, 'server']);
    await waitFor(() => server.stdout.includes('ready'), { timeout: 10_000, what: 'the python echo server' });
    const s = stack.dgram.createSocket('udp6');
    const got: Array<[string, dgram.RemoteInfo]> = [];
    s.on('message', (m: Buffer, r: dgram.RemoteInfo) => got.push([m.toString(), r]));
    s.bind(0);
    await once(s, 'listening');
    const zone = tap.iface.name;
    for (const [i, target] of [KERNEL6, `${kernelLL}%${zone}`].entries()) {
      // Retried until answered: the first datagram may wait for neighbor discovery.
      await waitFor(
        () => {
          if (got.length > i) return true;
          s.send(`to ${i}`, ECHO_PORT, target);
          return false;
        },
        { timeout: 10_000, interval: 200, what: `an echo from ${target}` },
      );
      const [text, rinfo] = got[i]!;
      assert.deepEqual(rinfo, { address: target, family: 'IPv6', port: ECHO_PORT, size: text.length });
      assert.equal(text, `to ${i} seen ${i === 0 ? STACK6 : `${stackLL}%${dev}`}`, text);
    }
    s.close();
    server.kill();
  });

  test('Linux sends to a dual-stack stack.dgram socket: global, link-local with zone, IPv4 mapped', async () => {
    const s = stack.dgram.createSocket('udp6');
    const seen: string[] = [];
    s.on('message', (m: Buffer, r: dgram.RemoteInfo) => {
      seen.push(r.address);
      s.send(`re ${m}`, r.port, r.address);
    });
    s.bind(0);
    await once(s, 'listening');
    const port = s.address().port;
    const cases: Array<[string, string, string]> = [
      [STACK6, KERNEL6, STACK6],
      [`${stackLL}%${dev}`, `${kernelLL}%${tap.iface.name}`, `${stackLL}%${dev}`],
      [STACK4, `::ffff:${KERNEL4}`, `::ffff:${STACK4}`],
    ];
    for (const [target, expectSeen, expectFrom] of cases) {
      const { stdout } = await netns.exec(
        ns,
        'python3',
        ['-c', SCRIPT, 'client', target, String(port), 'hi'],
        {
          timeout: 15_000,
        },
      );
      assert.equal(stdout.trim(), `re hi from ${expectFrom}`);
      assert.equal(seen.at(-1), expectSeen);
    }
    s.close();
  });
});
