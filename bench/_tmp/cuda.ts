import { PRESETS } from '../../models/config';
import { generatorParams, initWeights } from '../../models/params';
import { OrtBackend, ortCudaAvailable, ortVersion } from '../../models/engine/ort-backend';
console.log(ortVersion(), await ortCudaAvailable());
const cfg = PRESETS.lite(8);
try { await OrtBackend.create(cfg, initWeights(generatorParams(cfg), 1), { engine: 'ort-cuda' }); } catch (e) { console.log('ERR', (e as any).code, (e as Error).message); }
const b = await OrtBackend.create(cfg, initWeights(generatorParams(cfg), 1), { engine: 'ort-cpu' });
const r = await b.run(new Float32Array(3 * 32 * 32).fill(0.5), 3, 32, 32);
console.log(b.threads, r.map((l) => [l.scale, l.height, l.width, l.data.length, l.data[5]]));
await b.dispose();
