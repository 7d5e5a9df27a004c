/**
 * A simulated Ethernet network: point-to-point wires and learning switches between stacks, each
 * cable direction with its own netem-like impairments. It runs in any `Environment`: in a
 * `Simulation` on virtual time (deterministic under the simulation's seed), or on Node's real
 * clock with `NodeEnvironment`.
 *
 * ```ts
 * const sim = new Simulation({ seed: 42 });
 * const net = new VirtualNetwork(sim);
 * const a = sim.createStack({ name: 'a' });
 * const b = sim.createStack({ name: 'b' });
 * const wire = net.wire({ impairments: { loss: 0.01, delay: 10, jitter: 2 } });
 * const ethA = wire.attach(a, 'eth0');
 * const ethB = wire.attach(b, 'eth0');
 * ```
 */
import type { Environment } from '../../core/environment.ts';
import type { Rng } from '../../core/rng.ts';
import type { MacAddr } from '../../wire/address.ts';
import { forkRng } from './channel.ts';
import { apiError } from './impairments.ts';
import { type SwitchOptions, VirtualSwitch } from './switch.ts';
import { VirtualWire, type WireOptions } from './virtual-wire.ts';

/** 02:00:00:00:00:00, the first locally administered unicast address (IEEE 802 U/L bit set). */
const MAC_BASE = 0x02_00_00_00_00_00;
/** How many addresses the network hands out (the low 32 bits). */
const MAC_COUNT = 0x1_0000_0000;

/** Makes the wires and switches of one simulated network, and gives their interfaces MACs. */
export class VirtualNetwork {
  private readonly rng: Rng;
  private macsGiven = 0;
  private readonly wireList: VirtualWire[] = [];
  private readonly switchList: VirtualSwitch[] = [];

  /**
   * @param env where the network's cables take their time, timers and randomness from; its
   *   random stream is forked once here, and once more for each wire and switch as it is made.
   */
  constructor(readonly env: Environment) {
    this.rng = forkRng(env.rng);
  }

  /** A new point-to-point cable; attach exactly two interfaces to it. */
  wire(options: WireOptions = {}): VirtualWire {
    const wire = new VirtualWire(this, options);
    this.wireList.push(wire);
    return wire;
  }

  /** A new learning switch; attach interfaces to its ports. */
  switch(options: SwitchOptions = {}): VirtualSwitch {
    const sw = new VirtualSwitch(this, options);
    this.switchList.push(sw);
    return sw;
  }

  /** Every wire made by this network, in order of creation. */
  get wires(): readonly VirtualWire[] {
    return this.wireList;
  }

  /** Every switch made by this network, in order of creation. */
  get switches(): readonly VirtualSwitch[] {
    return this.switchList;
  }

  /**
   * The next MAC address for an interface: 02:00:00:00:00:01, 02:00:00:00:00:02, ... (locally
   * administered, unicast, unique within this network, the same in every run).
   */
  allocateMac(): MacAddr {
    if (this.macsGiven + 1 >= MAC_COUNT) throw apiError('ENOSPC', 'virtual network: no MAC address left');
    return MAC_BASE + ++this.macsGiven;
  }

  /** An independent random stream for a new link of this network (used by wires and switches). */
  forkRng(): Rng {
    return forkRng(this.rng);
  }
}
