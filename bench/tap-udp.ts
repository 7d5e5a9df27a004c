/**
 * The stack's end of the over-TAP UDP rows (bench/over-tap.ts): the Session `netstack up` runs
 * (src/cli/interface-options.ts: the stack on Node's clock, a TAP through the addon) used as a
 * datagram source or sink, since `up`'s services neither send a stream of datagrams nor report a
 * receive rate. Prints one JSON line, the same as bench/udp-blast.c's send and sink:
 *
 *   tap-udp.ts [interface options] send HOST PORT SIZE SECONDS   {"sent": N, "seconds": S}
 *   tap-udp.ts [interface options] sink PORT    {"received": N, "timed": T, "seconds": S}
 *
 * The sender writes bursts of 64 datagrams in one stack entry (one transmitted batch) and yields to the event loop between bursts (ARP and
 * what else the TAP brings must be read); the sink prints `ready`, counts from the first wake-up
 * to the last (T: the datagrams after the first wake-up) and stops once none came for a second.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parseArgs } from '../src/cli/args.ts';
import { interfaceFlags, parseInterfaceOptions, Session } from '../src/cli/interface-options.ts';
import { parseIpv4 } from '../src/wire/address.ts';

const BURST = 64;
const IDLE_MS = 1000;

const args = parseArgs(process.argv.slice(2), interfaceFlags);
const session = new Session(parseInterfaceOptions(args), 'bench-udp', process.stderr);
const { stack } = session;
const [mode, ...rest] = args.positionals;
const socket = stack.run(() => stack.udp.open());
// What the kernel answers (port unreachable before its sink listens) must not stop the run.
socket.onError = () => {};

if (mode === 'send') {
  const [host, port, size, seconds] = [
    parseIpv4(rest[0]!)!,
    Number(rest[1]),
    Number(rest[2]),
    Number(rest[3]),
  ];
  const data = new Uint8Array(size);
  // Resolve the kernel's MAC first (a datagram to the discard port), so that no burst waits for ARP.
  socket.send(data, host, 9);
  await new Promise((resolve) => setTimeout(resolve, 200));
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    // One stack entry per burst: its frames leave in one transmitted batch (one call into the addon).
    stack.run(() => {
      for (let i = 0; i < BURST; i++) socket.send(data, host, port);
    });
    sent += BURST;
    await yieldToLoop();
  }
  const elapsed = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ sent, seconds: elapsed }));
} else if (mode === 'sink') {
  stack.run(() => socket.bind(Number(rest[0])));
  let received = 0;
  // The datagrams of the first wake-up came before the clock started: not timed.
  let untimed = 0;
  let first = 0;
  let last = 0;
  socket.onReadable = () => {
    for (let d = socket.recv(); d; d = socket.recv()) received++;
    last = performance.now();
    if (first === 0) {
      first = last;
      untimed = received;
    }
  };
  session.ready();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (first !== 0 && performance.now() - last > IDLE_MS) {
        clearInterval(poll);
        resolve();
      }
    }, 100);
  });
  console.log(JSON.stringify({ received, timed: received - untimed, seconds: (last - first) / 1000 }));
} else {
  throw new Error(`unknown mode ${mode}: send or sink`);
}
socket.close();
session.close();
