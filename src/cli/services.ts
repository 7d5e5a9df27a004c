/**
 * Small servers `netstack up --serve` runs on the stack: echo (RFC 862, port 7) and discard (RFC 863,
 * port 9). A service says what it does with a message once; each transport it supports runs that
 * behaviour over its own sockets. UDP is here; TCP services plug in as another transport (a
 * `tcp` behaviour per service and a `startTcp` beside `startUdp`).
 *
 * Each service counts what it did under `services.<name>.<transport>.*` in the stack's counters, so
 * the report printed at exit shows it next to the layers' counters.
 */
import type { Stack } from '../core/stack.ts';

/** What a service does with one received message: the reply to send back, or nothing. */
type MessageBehaviour = (data: Uint8Array) => Uint8Array | undefined;

interface ServiceSpec {
  port: number;
  help: string;
  /** Datagram behaviour (RFC 862/863 "UDP based" service). */
  udp: MessageBehaviour;
}

export const SERVICES: Record<string, ServiceSpec> = {
  // RFC 862: "Once a datagram is received, the data from it is sent back in an answering datagram."
  echo: { port: 7, help: 'sends back what it receives (RFC 862)', udp: (data) => data },
  // RFC 863: "When a datagram is received, it is thrown away. An answer is not sent."
  discard: { port: 9, help: 'throws away what it receives (RFC 863)', udp: () => undefined },
};

export interface RunningService {
  name: string;
  transport: 'udp';
  port: number;
  close(): void;
}

/** Starts the named services on every address of the stack; throws (with a code) if a port is taken. */
export function startServices(stack: Stack, names: readonly string[]): RunningService[] {
  const running: RunningService[] = [];
  try {
    for (const name of names) {
      const spec = SERVICES[name];
      if (spec === undefined) throw Object.assign(new Error(`no service named ${name}`), { code: 'EINVAL' });
      running.push(startUdp(stack, name, spec));
    }
  } catch (e) {
    for (const r of running) r.close();
    throw e;
  }
  return running;
}

function startUdp(stack: Stack, name: string, spec: ServiceSpec): RunningService {
  const prefix = `services.${name}.udp`;
  const received = stack.counters.get(`${prefix}.rx`);
  const replied = stack.counters.get(`${prefix}.tx`);
  const failed = stack.counters.drops(`${prefix}.tx.error`);
  const socket = stack.run(() => {
    const s = stack.udp.open();
    try {
      s.bind(spec.port);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  });
  socket.onReadable = () => {
    for (let d = socket.recv(); d; d = socket.recv()) {
      received.value++;
      const reply = spec.udp(d.data);
      if (reply === undefined) continue;
      try {
        socket.send(reply, d.address, d.port);
        replied.value++;
      } catch (e) {
        // A reply the stack refuses (no route back, too big for the path) is counted, not fatal.
        failed.drop((e as { code?: string }).code ?? 'unknown');
      }
    }
  };
  return { name, transport: 'udp', port: spec.port, close: () => stack.run(() => socket.close()) };
}
