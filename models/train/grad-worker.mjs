// Entry of a gradient worker thread. Node 20 workers do not inherit tsx's loader (nor accept it via
// execArgv), so register it here, as bin/phasesr.js does, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./grad-worker.ts');
