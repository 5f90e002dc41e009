// Counted slots per client and in total (uploads in progress): what one client may hold is bounded, and so is
// what all of them hold together, so a greedy client cannot use up the server's file handles.
import { ServerError } from '../errors';

export class ClientSlots {
  readonly #held = new Map<string, number>();
  #total = 0;

  /** @param what the thing counted, for messages ("uploads in progress") */
  constructor(
    readonly what: string,
    readonly perClient: number,
    readonly total: number,
  ) {}

  get inUse(): number {
    return this.#total;
  }

  /**
   * Takes one slot for `client`; the returned function gives it back (calling it twice is harmless).
   * @throws ServerError SR_ERR_TOO_MANY
   */
  acquire(client: string): () => void {
    const mine = this.#held.get(client) ?? 0;
    if (mine >= this.perClient)
      throw new ServerError(
        'SR_ERR_TOO_MANY',
        `this client has ${mine} ${this.what} (limit ${this.perClient}): finish or cancel one first`,
      );
    if (this.#total >= this.total)
      throw new ServerError('SR_ERR_TOO_MANY', `the server has ${this.#total} ${this.what} (limit ${this.total}): retry later`);
    this.#held.set(client, mine + 1);
    this.#total++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#total--;
      const n = (this.#held.get(client) ?? 1) - 1;
      if (n === 0) this.#held.delete(client);
      else this.#held.set(client, n);
    };
  }
}
