// Who may talk to the server: a token when bound beyond loopback (Jupyter-style ?token=, then a cookie),
// a Host check against DNS rebinding, and an Origin check so a page on another site cannot drive it.
// GETs that start work (tiles, jobs, zarr chunks) also check Sec-Fetch-Site: an <img> on another site
// sends no Origin but its browser says the request is cross-site. Requests with neither header are
// non-browser clients (curl, Python, the Fiji bridge) and pass.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import type { ErrorCode } from '../protocol';

export const TOKEN_COOKIE = 'phasesr_token';

export interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
}

export class RequestGuard {
  /**
   * @param token required on every request when non-empty
   * @param loopbackOnly the server is bound to a loopback address: Host must name this machine
   */
  constructor(
    private readonly token: string,
    private readonly loopbackOnly: boolean,
  ) {
    // The server refuses this combination at start; the guard refuses it too, so no other wiring can open it.
    if (!loopbackOnly && token === '') throw new Error('a server bound beyond loopback needs a token');
  }

  get requiresToken(): boolean {
    return this.token !== '';
  }

  /**
   * undefined when the request may proceed. `checkOrigin` false for requests a foreign page may make (page
   * loads); `crossSiteOk` names origins whose pages may read (the CORS-shared zarr view).
   */
  check(req: IncomingMessage, checkOrigin = true, crossSiteOk: readonly string[] = []): Refusal | undefined {
    const host = req.headers.host ?? '';
    if (this.loopbackOnly && !isLoopbackHost(host)) {
      return { status: 403, code: 'SR_ERR_ORIGIN', message: `Host '${host}' is not this machine (the server is bound to loopback)` };
    }
    if (checkOrigin) {
      const origin = req.headers.origin;
      const shared = origin !== undefined && crossSiteOk.includes(origin);
      if (origin !== undefined && !sameOrigin(origin, host) && !shared) {
        return { status: 403, code: 'SR_ERR_ORIGIN', message: `origin ${origin} may not use this server (only pages it serves may)` };
      }
      // same-site is another port of this host: a different program's page, as foreign as any other site.
      const site = req.headers['sec-fetch-site'];
      if ((site === 'cross-site' || site === 'same-site') && !shared) {
        return {
          status: 403,
          code: 'SR_ERR_ORIGIN',
          message: 'a page of another site may not start work on this server (open the viewer this server serves)',
        };
      }
    }
    if (this.token && !this.#tokenOk(req)) {
      return {
        status: 401,
        code: 'SR_ERR_UNAUTHORIZED',
        message: 'a token is required: open the URL with ?token= printed at server start, or send Authorization: Bearer TOKEN',
      };
    }
    return undefined;
  }

  /** The token from the query string when it is the right one (the caller then sets the cookie). */
  queryToken(req: IncomingMessage): string | undefined {
    const t = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    return t !== null && this.token !== '' && equal(t, this.token) ? t : undefined;
  }

  #tokenOk(req: IncomingMessage): boolean {
    const fromQuery = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    const auth = req.headers.authorization;
    const fromHeader = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    const fromCookie = cookie(req.headers.cookie, TOKEN_COOKIE);
    return [fromQuery, fromHeader, fromCookie].some((t) => typeof t === 'string' && equal(t, this.token));
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === host;
  } catch {
    return false;
  }
}

function isLoopbackHost(host: string): boolean {
  let name: string;
  try {
    name = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    // Any page on this host (another port) can set a cookie: a malformed one is no token, not a crash.
    try {
      return decodeURIComponent(v.join('='));
    } catch {}
  }
  return undefined;
}

/** Who an HTTP request comes from, for fair shares of the engine: its peer address (browsers open several
 *  connections per page, so the socket would hand one page several shares). */
export function httpClient(req: IncomingMessage): string {
  return `http:${req.socket.remoteAddress ?? '?'}`;
}
