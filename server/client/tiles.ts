// Tile requests for scripts: the session's per-request answers turned into an async iterator, which cancels
// what is still outstanding when the caller stops early (break).
import { PhasesrClientError, type FrameHeader, type ProtocolSession, type TileRequestInput } from '../protocol';

/** One answered tile request: the tile's frame header and payload, or why there is none. */
export type TileOutcome =
  | { ok: true; id: number; request: TileRequestInput; header: FrameHeader; payload: Uint8Array }
  | { ok: false; id: number; request: TileRequestInput; code: string; message: string };

export function tileOutcomes(
  session: ProtocolSession,
  requests: TileRequestInput[],
  onIds?: (ids: number[]) => void,
): AsyncIterableIterator<TileOutcome> {
  const queue: TileOutcome[] = [];
  let wake: (() => void) | undefined;
  let left = requests.length;
  const index = new Map<number, number>();
  const ids = session.requestTiles(requests, (id, a) => {
    const request = requests[index.get(id)!]!;
    left--;
    queue.push(
      a.ok ? { ok: true, id, request, header: a.header, payload: a.payload } : { ok: false, id, request, code: a.code, message: a.message },
    );
    wake?.();
  });
  ids.forEach((id, i) => {
    index.set(id, i);
  });
  onIds?.(ids);
  return (async function* () {
    try {
      while (left > 0 || queue.length > 0) {
        if (queue.length === 0) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        const o = queue.shift()!;
        // The connection closing ends the iteration with its error, as a failed read would.
        if (!o.ok && o.code === 'SR_CLIENT_CLOSED') throw new PhasesrClientError(o.code, o.message, o.id);
        yield o;
      }
    } finally {
      const open = ids.filter((id) => session.pending(id));
      if (open.length > 0 && !session.closed) {
        session.cancel(open);
        session.abandon(open, new PhasesrClientError('SR_ERR_CANCELLED', 'cancelled by the client'));
      }
    }
  })();
}
