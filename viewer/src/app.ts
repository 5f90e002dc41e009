// What the viewer's panels share: the page's one OpenSeadragon view, its layers, socket and status line.
// Its own module, so the panels (ui/*) and the page that builds them (main.ts) do not import each other.
import type OpenSeadragon from 'openseadragon';

import type { ImageInfo } from '../../server/protocol';
import type { LayerStack } from './layer-stack';
import type { PluginRegistry } from './plugins';
import type { ViewerSocket } from './socket';
import type { DisplayPanel } from './ui/display-panel';
import type { StatusBar } from './ui/status-bar';

export interface App {
  viewer: OpenSeadragon.Viewer;
  stack: LayerStack;
  socket: ViewerSocket;
  engine: string;
  display: DisplayPanel;
  status: StatusBar;
  registry: PluginRegistry;
  /** Shows the image and announces it on the status line: the server's warnings about it, else "opened NAME". */
  openImage(info: ImageInfo): void;
  notify(text: string): void;
  runCommand(id: string): Promise<unknown>;
}
