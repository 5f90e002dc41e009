// Opening a phasesr WebSocket from Node (`ws`): the URL forms scripts pass, the token and Origin headers, a
// refused handshake's coded JSON, and the hello check, which the protocol session does for every client.
import WebSocket from 'ws';

import { acceptServerHello, PhasesrClientError, SUBPROTOCOL, WS_PATH, type ServerMessageOf } from '../protocol';

export interface ConnectOptions {
  /** Access token (servers bound beyond loopback print one); sent as `Authorization: Bearer`. */
  token?: string;
  /** An Origin header, as a browser page would send; leave it out for scripts (they pass the Origin check). */
  origin?: string;
  /** Name sent in the client hello. */
  client?: string;
  /** Give up connecting after this long (default 10 s). */
  timeoutMs?: number;
}

/**
 * Connects to `url` and waits for the server's hello (and has answered it).
 * @throws PhasesrClientError ECONNREFUSED (nothing listening), SR_ERR_UNAUTHORIZED / SR_ERR_ORIGIN (refused), SR_CLIENT_TIMEOUT
 */
export function openSocket(url: string, opts: ConnectOptions): Promise<{ ws: WebSocket; hello: ServerMessageOf<'hello'>; url: string }> {
  const wsUrl = toWsUrl(url);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const ws = new WebSocket(wsUrl, SUBPROTOCOL, {
    headers,
    ...(opts.origin ? { origin: opts.origin } : {}),
    handshakeTimeout: timeoutMs,
    maxPayload: 1 << 30,
  });
  return new Promise((resolve, reject) => {
    const fail = (e: PhasesrClientError) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(e);
    };
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        let err = { code: `HTTP_${res.statusCode}`, message: `the server refused the WebSocket (${res.statusCode})` };
        try {
          err = (JSON.parse(body) as { error: typeof err }).error ?? err;
        } catch {
          /* not our server's JSON */
        }
        fail(new PhasesrClientError(err.code, err.message));
      });
    });
    ws.once('error', (e: NodeJS.ErrnoException) => {
      const refused = e.code === 'ECONNREFUSED';
      fail(
        new PhasesrClientError(
          e.code ?? 'SR_CLIENT_CONNECT',
          refused ? `no phasesr server is listening at ${wsUrl}` : `cannot connect to ${wsUrl}: ${e.message}`,
        ),
      );
    });
    const timer = setTimeout(
      () => fail(new PhasesrClientError('SR_CLIENT_TIMEOUT', `no hello from ${wsUrl} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    ws.once('message', (data, isBinary) => {
      try {
        const { hello, reply } = acceptServerHello(isBinary ? undefined : (data as Buffer).toString(), opts.client ?? 'phasesr-client');
        clearTimeout(timer);
        ws.removeAllListeners();
        ws.send(reply);
        resolve({ ws, hello, url: wsUrl });
      } catch (e) {
        fail(e as PhasesrClientError);
      }
    });
  });
}

/** ws://host:port/ws from ws://host:port, http://host:port, with or without the path. */
export function toWsUrl(url: string): string {
  const u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `ws://${url}`);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = WS_PATH;
  return u.toString();
}
