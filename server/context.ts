// What handlers and routes get to work with (one object, so adding a handler needs no new wiring).
import type { LoadedModel, SuperResBackend } from '../models';
import type { ServerOptions } from './config';
import type { ImageStore } from './images/image-store';
import type { ServerStats } from './stats';
import type { TileService } from './tiles/tile-service';
import type { WsHub } from './ws/ws-hub';

export interface ServerContext {
  readonly options: ServerOptions;
  readonly model: LoadedModel;
  readonly engine: SuperResBackend;
  readonly store: ImageStore;
  readonly tiles: TileService;
  readonly stats: ServerStats;
  readonly hub: WsHub;
  /** A fresh priority sequence number (larger = newer). */
  nextSeq(): number;
}
