// What servers and workers agree on when they share block work through Redis: the queue name (one per
// model, so a worker never runs another model's jobs), the job id (image content hash, model sha256, block
// size and block: the same block asked for through any server is one job), the job's data, its priorities,
// and the Redis keys beside BullMQ's own.
import type { RedisOptions } from 'bullmq';

import type { Rect } from '../../models';

/** BullMQ's key prefix for phasesr queues (keys look like phasesr:blocks-<model>:...). */
export const QUEUE_PREFIX = 'phasesr';

/** BullMQ priorities: 1 runs first. A block some viewer shows outranks a prefetched one; whole-image jobs wait for both. */
export const PRIORITY = { visible: 1, prefetch: 2, batch: 3 } as const;

/** BullMQ job names: a tile block, or one engine call of a whole-image job (the batch API on a front end). */
export const JOB_NAME = { block: 'block', engineCall: 'engine-call' } as const;

/** What a worker needs to compute one block; pixels are read from the shared folder, never sent. */
export interface BlockJobData {
  v: 1;
  imageSha: string;
  /** The image inside the shared folder (relative: each machine mounts the folder where it likes). */
  file: string;
  /** Percentiles computed once per image (server/scale/shared-dir.ts) and used by every worker. */
  low: number;
  high: number;
  sampled: boolean;
  pcts: [number, number];
  modelSha: string;
  blockSize: number;
  bx: number;
  by: number;
}

/** One engine call of a whole-image job: its input and output are files in the shared folder (engine-call-files.ts). */
export interface EngineCallData {
  v: 1;
  modelSha: string;
  /** calls/<id>.in and calls/<id>.out, relative to the shared folder. */
  input: string;
  output: string;
  n: number;
  height: number;
  width: number;
  /** The part of each window the caller uses (SuperResBackend.run); absent: all of it. */
  need?: Rect | undefined;
}

/** What a finished job returns through the queue: who did it, not the tiles (those are in the shared cache). */
export interface BlockJobResult {
  worker: string;
  /** false: the block's tiles were already in the shared cache (a job added again after a race). */
  inferred: boolean;
  /** true: no live server wanted the job any more (they died), so it was skipped, not computed. */
  dropped?: boolean;
  ms: number;
  /** The worker's clock (Date.now()) as the job ended: servers sum how late they hear of it (QueueCounters.notifyMs). */
  finishedAt?: number;
}

/** A worker's counters as it publishes them (HSET workers <id> <json>). */
export interface WorkerBeat {
  seen: number;
  done: number;
  inferred: number;
  skipped: number;
  /** Jobs skipped because every server that wanted them was dead (SERVER_TTL_MS without a beat). */
  dropped: number;
  /** Engine calls of whole-image jobs run. */
  calls: number;
  failed: number;
  engine: string;
  threads: number;
  /** Wall time (ms) with a job in hand, and with an engine run in flight (bench:scale sets them against elapsed time). */
  jobMs?: number;
  engineMs?: number;
}

export function queueName(modelSha: string): string {
  return `blocks-${modelSha.slice(0, 16)}`;
}

/** BullMQ job ids may not contain ':' or be plain integers. */
export function blockJobId(imageSha: string, modelSha: string, blockSize: number, bx: number, by: number): string {
  return `${imageSha.slice(0, 32)}-${modelSha.slice(0, 16)}-b${blockSize}-${bx}-${by}`;
}

/**
 * A server's liveness: a key it renews every SERVER_BEAT_MS with this time to live. A server killed
 * (kill -9, a lost machine) stops renewing it, and the jobs only it wanted are skipped by the workers.
 */
export const SERVER_TTL_MS = 15_000;
export const SERVER_BEAT_MS = 3_000;

export interface ScaleKeys {
  /** Hash: worker id -> WorkerBeat JSON. */
  workers: string;
  /** Set: the servers that still want a job. */
  wanted: (jobId: string) => string;
  /** A server's liveness key (SET PX SERVER_TTL_MS). */
  alive: (serverId: string) => string;
}

/** Keys of our own next to BullMQ's: worker heartbeats, which servers still want a queued job, which servers live. */
export function scaleKeys(queue: string): ScaleKeys {
  const base = `${QUEUE_PREFIX}:${queue}`;
  return { workers: `${base}:workers`, wanted: (jobId) => `${base}:wanted:${jobId}`, alive: (serverId) => `${base}:alive:${serverId}` };
}

/**
 * Run by a worker as it takes a job: drops the dead servers from the job's "wanted by" set (KEYS[1]) and
 * returns how many live ones are left (0: skip the job). ARGV[1] is the alive-key prefix. It reads keys it
 * builds itself, as BullMQ's own scripts do: fine on one Redis, which is what BullMQ supports without
 * cluster hash tags.
 */
export const LIVE_WANTERS = `
local live = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. id) == 1 then live = live + 1 else redis.call('SREM', KEYS[1], id) end
end
return live`;

/** ioredis options from a redis:// or rediss:// URL (user, password and database number included). */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw Object.assign(new Error(`--redis ${url}: not a URL (redis://[:password@]host:port[/db])`), { code: 'SR_ERR_USAGE' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw Object.assign(new Error(`--redis ${url}: use redis:// or rediss://`), { code: 'SR_ERR_USAGE' });
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: Number.isInteger(db) ? db : 0,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL without its password, for logs and /health. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(bad URL)';
  }
}

/** "CODE: message", a code of models/error-codes.ts (how a worker's error travels as BullMQ's failedReason), back to code and message. */
export function parseFailedReason(reason: string): { code: string; message: string } {
  const m = /^(SR_ERR_[A-Z_]+): (.*)$/s.exec(reason);
  return m ? { code: m[1]!, message: m[2]! } : { code: 'SR_ERR_INTERNAL', message: reason };
}
