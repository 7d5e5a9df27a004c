/**
 * A Simulation driven by a pump that runs one event per macrotask (`setImmediate`), so the promise
 * continuations and Node ticks of the code under test run between the stack's events while
 * virtual time jumps to the next deadline. For tests that await Node-style APIs over simulated
 * stacks; `stop()` ends the pump (call it when the world is closed).
 */
import { Simulation } from '../../src/bindings/memory/simulation.ts';

export function pumpedSimulation(seed: number): { sim: Simulation; stop: () => void } {
  const sim = new Simulation({ seed });
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    sim.step();
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    sim,
    stop: () => {
      stopped = true;
    },
  };
}
