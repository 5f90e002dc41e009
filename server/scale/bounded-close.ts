// BullMQ's close() waits for its Redis connection (QueueEvents, a Worker's graceful close, a QUIT queued for
// a reconnect): with Redis away it never returns, and a `serve --redis` or `worker` asked to stop hung on
// SIGTERM. Closing is therefore bounded; what is left (a socket that keeps reconnecting) ends with the process.
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a close may wait for Redis before it is given up. */
export const CLOSE_MS = 3_000;

/** Resolves when `p` settles or after `ms`, whichever is first; true if `p` settled. Never throws. */
export async function settleWithin(p: Promise<unknown>, ms = CLOSE_MS): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      sleep(ms, false, { signal: ac.signal, ref: false }).catch(() => false),
    ]);
  } finally {
    ac.abort();
  }
}
