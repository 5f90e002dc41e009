// A real engine held shut: each call waits at the door until release(), then runs on the engine as usual.
// A test that needs "the engine is busy" holds it instead of hoping a load lasts long enough: what waits in
// the server's queue meanwhile is then a fact, not a race against the machine's speed.
import type { SuperResBackend } from '../../models';

export interface HeldEngine {
  /** Engine calls waiting at the door now. */
  readonly waiting: number;
  /** Lets the waiting calls and every later one through, and gives the engine back its own run. */
  release(): void;
}

export function holdEngine(engine: SuperResBackend): HeldEngine {
  const own = Object.getOwnPropertyDescriptor(engine, 'run');
  const run = engine.run;
  let open: () => void = () => undefined;
  const door = new Promise<void>((r) => (open = r));
  let waiting = 0;
  const held: SuperResBackend['run'] = async (...args) => {
    waiting++;
    try {
      await door;
    } finally {
      waiting--;
    }
    return run.apply(engine, args);
  };
  engine.run = held;
  return {
    get waiting() {
      return waiting;
    },
    release() {
      if (engine.run !== held) return;
      if (own) Object.defineProperty(engine, 'run', own);
      else delete (engine as { run?: unknown }).run;
      open();
    },
  };
}
