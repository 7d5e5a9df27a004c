/**
 * Installs the Node-compatible APIs on every `Stack` as lazy getters: `stack.dgram` (Node's
 * `dgram`), `stack.dns` (Node's `dns.promises`). The core stays free of Node APIs; importing the
 * package entry (src/index.ts) runs this once. Each getter builds its module on first use and
 * keeps it on the stack.
 *
 * `stack.net` (src/api/net/) is installed the same way: add its declaration to the interface
 * below and one `lazy(...)` line at the end.
 */
import { Stack } from '../core/stack.ts';
import { DgramModule } from './dgram.ts';
import { DnsPromises, getaddrinfoError } from './dns.ts';
import { NetModule } from './net/index.ts';
import { Posix } from './posix/posix.ts';

declare module '../core/stack.ts' {
  interface Stack {
    /** Node's `dgram` module on this stack. */
    readonly dgram: DgramModule;
    /** Node's `dns.promises` on this stack (with `lookup`), over the stack's stub resolver. */
    readonly dns: DnsPromises;
    /** Node's `net` module on this stack (TCP). */
    readonly net: NetModule;
    /** The POSIX socket API on this stack (docs/posix.md). */
    readonly posix: Posix;
  }
}

const modules = new WeakMap<Stack, Map<string, unknown>>();

/** Defines `Stack.prototype[name]` as a getter that makes the module once per stack. */
function lazy<T>(name: string, make: (stack: Stack) => T): void {
  if (Object.hasOwn(Stack.prototype, name)) return;
  Object.defineProperty(Stack.prototype, name, {
    configurable: true,
    enumerable: false,
    get(this: Stack): T {
      let own = modules.get(this);
      if (own === undefined) {
        own = new Map();
        modules.set(this, own);
      }
      if (!own.has(name)) own.set(name, make(this));
      return own.get(name) as T;
    },
  });
}

lazy('dns', (stack) => new DnsPromises(stack));
lazy('net', (stack) => new NetModule(stack));
lazy('posix', (stack) => new Posix(stack));
lazy(
  'dgram',
  (stack) =>
    new DgramModule(stack, (hostname, family, callback) => {
      stack.dns.resolver.lookup(hostname, family === 6 ? 6 : 4, (err, list) => {
        if (err !== undefined) {
          callback(getaddrinfoError(err, hostname), '', family);
          return;
        }
        const first = list![0]!;
        callback(null, first.address, first.family);
      });
    }),
);
