/** fast-check generators for TCP option sets and headers (shared by the TCP wire tests). */
import fc from 'fast-check';
import type { TcpHeader } from '../../src/wire/tcp.ts';
import {
  TCP_MAX_OPTIONS_LEN,
  TCP_OPT_TIMESTAMP,
  type TcpOptions,
  tcpOptionsLength,
} from '../../src/wire/tcp-options.ts';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** Any option set that fits in the 40-byte options area, each option present or absent. */
export const tcpOptionsArb: fc.Arbitrary<TcpOptions> = fc
  .record(
    {
      mss: fc.integer({ min: 0, max: 0xffff }),
      windowScale: fc.integer({ min: 0, max: 0xff }),
      sackPermitted: fc.constant(true),
      sackBlocks: fc.array(fc.record({ left: u32, right: u32 }, { noNullPrototype: true }), {
        minLength: 1,
        maxLength: 4,
      }),
      timestamp: fc.record({ value: u32, echo: u32 }, { noNullPrototype: true }),
      unknown: fc.array(
        fc.record(
          {
            // Kinds this module does not interpret: 6, 7 and 9..255 (0..5 and 8 are known).
            kind: fc.integer({ min: 6, max: 255 }).filter((k) => k !== TCP_OPT_TIMESTAMP),
            data: fc.uint8Array({ maxLength: 12 }),
          },
          { noNullPrototype: true },
        ),
        { minLength: 1, maxLength: 3 },
      ),
    },
    { requiredKeys: [], noNullPrototype: true },
  )
  .filter((o) => tcpOptionsLength(o) <= TCP_MAX_OPTIONS_LEN);

/** Any header, with seq/ack over the whole uint32 range and every control bit including AE. */
export const tcpHeaderArb: fc.Arbitrary<TcpHeader> = fc.record(
  {
    srcPort: fc.integer({ min: 0, max: 0xffff }),
    dstPort: fc.integer({ min: 0, max: 0xffff }),
    seqNumber: u32,
    ackNumber: u32,
    flags: fc.integer({ min: 0, max: 0x1ff }),
    window: fc.integer({ min: 0, max: 0xffff }),
    urgentPointer: fc.integer({ min: 0, max: 0xffff }),
    options: tcpOptionsArb,
  },
  { noNullPrototype: true },
);
