// Worker bootstrap: registers tsx (as bin/phasesr.js does) so the TypeScript worker runs as it is.
import { register } from 'tsx/esm/api';

register();
await import('./engine-worker-main.ts');
