// The layering the brief asks for, checked on the source rather than remembered: models/ (the science) imports
// no other top-level folder; plugin/ (the contract) imports nothing from viewer/; and no module imports itself
// back through a chain (the viewer's page and its panels used to import each other).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FOLDERS = ['bin', 'models', 'server', 'viewer/src', 'plugin', 'fiji-bridge', 'bench'];

function sources(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    if (n === 'node_modules' || n === 'dist') return [];
    const rel = path.join(dir, n);
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sources(rel);
    return /\.tsx?$/.test(n) && !n.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Relative import targets of a file, resolved to repository paths (type-only imports included). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = (m[1] ?? m[2])!;
    const base = path.join(path.dirname(file), spec);
    const hit = [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts'), base].find((c) => {
      try {
        return statSync(path.join(ROOT, c)).isFile();
      } catch {
        return false;
      }
    });
    out.push(hit ?? base);
  }
  return out;
}

const files = FOLDERS.flatMap(sources);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('the scan sees the tree (so the rules below are not vacuous)', () => {
  assert.ok(files.length > 150, `only ${files.length} source files found`);
  assert.ok(graph.get('viewer/src/main.ts')!.includes('viewer/src/app.ts'));
});

test('models/ imports nothing from server/, viewer/, plugin/ or bin/', () => {
  const bad = files
    .filter((f) => f.startsWith('models/'))
    .flatMap((f) =>
      graph
        .get(f)!
        .filter((t) => /^(server|viewer|plugin|bin)\//.test(t))
        .map((t) => `${f} -> ${t}`),
    );
  assert.deepEqual(bad, []);
});

test('plugin/ (the contract and its plugins) imports nothing from viewer/', () => {
  const bad = files
    .filter((f) => f.startsWith('plugin/'))
    .flatMap((f) =>
      graph
        .get(f)!
        .filter((t) => t.startsWith('viewer/'))
        .map((t) => `${f} -> ${t}`),
    );
  assert.deepEqual(bad, []);
});

test('no import cycles', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) if (graph.has(t)) visit(t, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});
