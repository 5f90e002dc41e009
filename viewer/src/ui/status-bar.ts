// The status bar: this page's tiles (queued at the server, computing, done, cancelled), the mean round trip
// of model-made tiles, the engine, and messages. The server's queue comes from `status` messages, polled
// while tiles are pending.
import type { LayerStack } from '../layer-stack';
import type { ViewerSocket } from '../socket';

const TIMING_WINDOW = 20;

export class StatusBar {
  readonly #timings: number[] = [];
  #server = { queued: 0, running: 0 };
  #messageTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly socket: ViewerSocket,
    private readonly stack: LayerStack,
    engine: string,
  ) {
    document.getElementById('status-engine')!.textContent = `engine ${engine}`;
    socket.onTileTiming = (ask, ms) => {
      const img = stack.image;
      if (!img || ask.level <= img.nativeLevel || ask.layer !== 'sr') return;
      this.#timings.push(ms);
      if (this.#timings.length > TIMING_WINDOW) this.#timings.shift();
    };
    let polling = false;
    setInterval(() => {
      this.render();
      if (polling || (socket.counters.inFlight === 0 && this.#server.running === 0 && this.#server.queued === 0)) return;
      polling = true;
      socket
        .status()
        .then((s) => {
          this.#server = s;
        })
        .finally(() => {
          polling = false;
        });
    }, 500);
    this.render();
  }

  /** Mean ms per model-made tile over the last few (undefined before the first). */
  get msPerTile(): number | undefined {
    return this.#timings.length ? this.#timings.reduce((a, b) => a + b, 0) / this.#timings.length : undefined;
  }

  render(): void {
    const c = this.socket.counters;
    const computing = Math.min(c.inFlight, this.#server.running);
    const el = document.getElementById('status-tiles')!;
    el.textContent =
      `tiles: ${Math.max(0, c.inFlight - computing)} queued · ${computing} computing · ${c.received} done ` +
      `· ${c.cancelledByServer + c.cancelledByViewer} cancelled`;
    el.classList.toggle('busy', c.inFlight > 0);
    const ms = this.msPerTile;
    document.getElementById('status-timing')!.textContent = ms === undefined ? 'SR tile: –' : `SR tile: ${Math.round(ms)} ms`;
    const img = this.stack.image;
    document.getElementById('status-level')!.textContent = img
      ? `levels 0–${img.nativeLevel} source · ${img.nativeLevel + 1}–${img.maxLevel} model`
      : '';
  }

  message(text: string, ms = 6000): void {
    const el = document.getElementById('status-message')!;
    el.textContent = text;
    clearTimeout(this.#messageTimer);
    this.#messageTimer = setTimeout(() => {
      el.textContent = '';
    }, ms);
  }
}
