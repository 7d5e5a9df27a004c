/** Loads the real-packet captures kept in test/fixtures (made by scripts/fixtures/*.sh). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CapturedPacket, readCapture } from '../../src/bindings/pcap/pcap-format.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Every packet of test/fixtures/NAME; throws (failing the test) if the file is missing or bad. */
export function loadFixture(name: string): CapturedPacket[] {
  const parsed = readCapture(new Uint8Array(readFileSync(FIXTURES + name)));
  if (!parsed.ok) throw new Error(`fixture ${name}: ${parsed.error}`);
  return parsed.value.packets;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}
