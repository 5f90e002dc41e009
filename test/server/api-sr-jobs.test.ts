// /api/v1/sr computes once per user request, over a real socket on 127.0.0.1: an identical GET (ImageJ's
// File.openUrlAsString opens every URL twice) joins the job already running or done instead of computing
// again, counted by the server's own srJobs counter; `wait=0` submits and the status URL reports progress
// and then the result; a job that nobody waits for or polls any more is cancelled.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { writeImage } from '../../models';
import { OneShotJobs } from '../../server/batch/one-shot-jobs';
import { synthImage } from '../helpers/image';
import { tempDir } from '../helpers/shared';
import { startServer, type TestServer } from './helpers';

const dir = tempDir('phasesr-api-sr-jobs-test-');
let srv: TestServer;

async function image16(name: string, w: number, h: number, seed: number): Promise<string> {
  const file = path.join(dir, name);
  await writeImage(file, { width: w, height: h, dtype: 'uint16', data: Uint16Array.from(synthImage(w, h, seed), (v) => Math.round(v)) });
  return file;
}

async function srJobs(): Promise<number> {
  const h = (await (await fetch(`${srv.url}/health`)).json()) as { stats: { srJobs: number } };
  return h.stats.srJobs;
}

function srUrl(file: string, extra = ''): string {
  return `${srv.url}/api/v1/sr?path=${encodeURIComponent(file)}&scale=4${extra}`;
}

interface Status {
  id: string;
  state: string;
  done: number;
  total: number;
  url?: string;
  width?: number;
  error?: { code: string };
  warnings?: string[];
}

async function pollUntilFinished(statusUrl: string): Promise<Status[]> {
  const seen: Status[] = [];
  for (;;) {
    const s = (await (await fetch(statusUrl)).json()) as Status;
    seen.push(s);
    if (s.state === 'done' || s.state === 'error') return seen;
    await sleep(20);
  }
}

before(async () => {
  srv = await startServer();
});

after(async () => {
  await srv.server.close();
});

test('the same GET twice in a row (as ImageJ sends it): one job, the same result URL', async () => {
  const file = await image16('twice.tif', 40, 32, 1);
  const before = await srJobs();
  const a = await (await fetch(srUrl(file, '&format=text'))).text();
  const b = await (await fetch(srUrl(file, '&format=text'))).text();
  assert.match(a, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/results\/[0-9a-f]{32}\.tif\n$/);
  assert.equal(b, a);
  assert.equal((await srJobs()) - before, 1);
  assert.equal((await fetch(a.trim())).status, 200);
});

test('identical GETs at the same time share one job; other parameters or a rewritten file are new jobs', async () => {
  const file = await image16('together.tif', 40, 32, 2);
  const before = await srJobs();
  const answers = await Promise.all([1, 2, 3].map(async () => (await fetch(srUrl(file))).json() as Promise<{ url: string }>));
  assert.equal(new Set(answers.map((x) => x.url)).size, 1);
  assert.equal((await srJobs()) - before, 1);

  const x2 = (await (await fetch(`${srv.url}/api/v1/sr?path=${encodeURIComponent(file)}&scale=2`)).json()) as {
    url: string;
    width: number;
  };
  assert.equal(x2.width, 80);
  assert.equal((await srJobs()) - before, 2);

  await image16('together.tif', 40, 32, 3); // same name, new content
  const again = (await (await fetch(srUrl(file))).json()) as { url: string };
  assert.notEqual(again.url, answers[0]!.url);
  assert.equal((await srJobs()) - before, 3);
});

test('wait=0: 202 with a status URL at once; polling reports the tile progress, then the result; submitting again joins', async () => {
  const file = await image16('submit.tif', 160, 144, 4);
  const before = await srJobs();
  const res = await fetch(srUrl(file, '&wait=0'));
  assert.equal(res.status, 202);
  const sub = (await res.json()) as { id: string; state: string; statusUrl: string; absoluteStatusUrl: string };
  assert.match(sub.id, /^[0-9a-f]{32}$/);
  assert.equal(sub.absoluteStatusUrl, `${srv.url}/api/v1/sr/jobs/${sub.id}`);
  const again = (await (await fetch(srUrl(file, '&wait=0'))).json()) as { id: string };
  assert.equal(again.id, sub.id, 'the repeated submit joins the job');
  const seen = await pollUntilFinished(sub.absoluteStatusUrl);
  const last = seen.at(-1)!;
  assert.equal(last.state, 'done', JSON.stringify(last));
  // 160x144 in 64-pixel tiles: 3 x 3 engine tiles, all reported.
  assert.deepEqual([last.done, last.total], [9, 9]);
  assert.equal(last.width, 640);
  assert.equal((await fetch(`${srv.url}${last.url}`)).status, 200);
  for (const s of seen) assert.ok(['queued', 'running', 'done'].includes(s.state) && s.done <= s.total, JSON.stringify(s));
  // The blocking form of the same request now answers the same result without computing.
  const sync = (await (await fetch(srUrl(file))).json()) as { url: string };
  assert.equal(sync.url, last.url);
  assert.equal((await srJobs()) - before, 1);
});

test('format=text: `job URL`, then `queued` / `running DONE TOTAL` / `done URL` lines; errors and unknown jobs are `error:` lines', async () => {
  const file = await image16('text.tif', 48, 40, 5);
  const sub = await (await fetch(srUrl(file, '&wait=0&format=text'))).text();
  const m = /^job (http:\/\/127\.0\.0\.1:\d+\/api\/v1\/sr\/jobs\/([0-9a-f]{32}))\n$/.exec(sub);
  assert.ok(m, sub);
  let line = '';
  for (;;) {
    line = await (await fetch(`${m[1]}?format=text`)).text();
    assert.match(line, /^(queued|running \d+ \d+|done http:\/\/\S+\.tif)\n/);
    if (line.startsWith('done ')) break;
    await sleep(20);
  }
  const url = line.split('\n')[0]!.slice(5);
  assert.equal((await fetch(url)).status, 200);

  const junk = path.join(dir, 'junk.tif');
  writeFileSync(junk, 'not an image');
  const bad = await (await fetch(srUrl(junk, '&wait=0&format=text'))).text();
  const badStatus = `${bad.trim().slice(4)}?format=text`;
  let err = '';
  while (!err.startsWith('error:')) {
    err = await (await fetch(badStatus)).text();
    await sleep(20);
  }
  assert.match(err, /^error: SR_ERR_IMAGE_DECODE: /);
  assert.match(await (await fetch(`${srv.url}/api/v1/sr/jobs/${'0'.repeat(32)}?format=text`)).text(), /^error: SR_ERR_NOT_FOUND: /);
  const r404 = await fetch(`${srv.url}/api/v1/sr/jobs/${'0'.repeat(32)}`);
  assert.equal(r404.status, 404);
  assert.equal(((await r404.json()) as { error: { code: string } }).error.code, 'SR_ERR_NOT_FOUND');
  const usage = await fetch(srUrl(file, '&wait=later'));
  assert.equal(((await usage.json()) as { error: { code: string } }).error.code, 'SR_ERR_USAGE');
});

test('a submitted job nobody polls any more is cancelled (its run is aborted); a polled one runs on', async () => {
  const jobs = new OneShotJobs<string>(
    async () => true,
    () => {},
    { abandonMs: 150, keepMs: 60_000, maxJobs: 8 },
  );
  try {
    let aborted = 0;
    const untilAborted = (signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) =>
        signal.addEventListener('abort', () => {
          aborted++;
          reject(signal.reason);
        }),
      );
    const left = (await jobs.submit('a', untilAborted)).job;
    const kept = (await jobs.submit('b', untilAborted)).job;
    left.polled = kept.polled = true;
    for (let i = 0; i < 20 && left.active; i++) {
      jobs.poll(kept.id);
      await sleep(50);
    }
    assert.equal(left.state, 'error');
    assert.equal(left.error?.code, 'SR_ERR_CANCELLED');
    assert.equal(kept.state, 'queued', 'the polled job is still waiting for its run');
    assert.equal(aborted, 1);
    // A request waiting on a job it started cancels it when it leaves (nobody else asked for it).
    const held = (await jobs.submit('c', untilAborted)).job;
    jobs.hold(held)();
    assert.equal(held.error?.code, 'SR_ERR_CANCELLED');
  } finally {
    jobs.close();
  }
});
