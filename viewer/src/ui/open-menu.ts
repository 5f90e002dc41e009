// Open: a plugin's sample, a file from the user's disk (streamed as the request body, with progress), or a
// file on the server (inside its allowed folders). Which files can be opened comes from the plugins' readers.
import type { ImageInfo } from '../../../server/protocol';
import type { App } from '../app';
import { mountPathDialog } from './path-dialog';

export function mountOpenMenu(app: App): void {
  const button = document.getElementById('open-button')!;
  const items = document.getElementById('open-items')!;
  const input = document.getElementById('file-input') as HTMLInputElement;
  const close = (): void => {
    items.hidden = true;
  };
  button.onclick = (ev) => {
    ev.stopPropagation();
    items.hidden = !items.hidden;
  };
  document.addEventListener('click', (ev) => {
    if (!items.contains(ev.target as Node)) close();
  });

  const samples = document.getElementById('sample-items')!;
  for (const s of app.registry.samples) {
    const b = document.createElement('button');
    b.className = 'menu-item';
    b.textContent = `Sample: ${s.display_name}`;
    b.onclick = async () => {
      close();
      app.notify(`opening ${s.display_name}…`);
      await run(app, () => postJson(s.uri, undefined));
    };
    samples.append(b);
  }

  input.accept = [...app.registry.readableExtensions].join(',');
  input.onchange = async () => {
    const file = input.files?.[0];
    input.value = '';
    close();
    if (file) await openFile(app, file);
  };
  const view = document.getElementById('view')!;
  view.addEventListener('dragover', (ev) => ev.preventDefault());
  view.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const file = ev.dataTransfer?.files[0];
    if (file) void openFile(app, file);
  });

  const pathDialog = mountPathDialog({
    open: async (p) => {
      const info = await postJson('/api/v1/images/open', { path: p });
      app.openImage(info);
    },
  });
  document.getElementById('path-button')!.onclick = () => {
    close();
    void pathDialog.show();
  };
}

/** Uploads a file from disk (XMLHttpRequest: the browser streams the File and reports upload progress). */
export async function openFile(app: App, file: File): Promise<void> {
  const ext = file.name.toLowerCase().match(/(\.ome)?\.[a-z0-9]+$/)?.[0] ?? '';
  const readable = [...app.registry.readableExtensions];
  if (!readable.some((e) => file.name.toLowerCase().endsWith(e))) {
    app.notify(`no plugin reads ${ext || file.name} files (readers: ${readable.join(' ')})`);
    return;
  }
  const bar = document.getElementById('upload-progress')!;
  const fill = bar.querySelector<HTMLElement>('.fill')!;
  const label = bar.querySelector<HTMLElement>('.label')!;
  bar.hidden = false;
  const progress = (done: number, total: number, what: string): void => {
    fill.style.width = `${total ? (100 * done) / total : 0}%`;
    label.textContent = `${what} ${file.name}: ${(done / 2 ** 20).toFixed(1)} / ${(total / 2 ** 20).toFixed(1)} MiB`;
  };
  try {
    await run(
      app,
      () =>
        new Promise<ImageInfo>((resolve, reject) => {
          const xhr = new XMLHttpRequest();
          xhr.open('POST', `/api/v1/images?name=${encodeURIComponent(file.name)}`);
          xhr.upload.onprogress = (e) => progress(e.loaded, e.total || file.size, 'uploading');
          xhr.upload.onload = () => {
            label.textContent = `opening ${file.name} (hashing, percentiles)…`;
          };
          xhr.onload = () => {
            const body = safeJson(xhr.responseText);
            if (xhr.status >= 200 && xhr.status < 300) resolve(body as ImageInfo);
            else reject(errorOf(body, xhr.status));
          };
          xhr.onerror = () => reject(new Error('upload failed: the connection broke'));
          xhr.send(file);
        }),
    );
  } finally {
    bar.hidden = true;
  }
}

async function run(app: App, open: () => Promise<ImageInfo>): Promise<void> {
  try {
    const info = await open();
    app.openImage(info); // announces it, with the server's warnings
  } catch (e) {
    app.notify(`cannot open: ${(e as Error).message}`);
  }
}

async function postJson(url: string, body: unknown): Promise<ImageInfo> {
  const res = await fetch(url, {
    method: 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = safeJson(await res.text());
  if (!res.ok) throw errorOf(json, res.status);
  return json as ImageInfo;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorOf(body: unknown, status: number): Error {
  const e = (body as { error?: { code: string; message: string } } | undefined)?.error;
  return new Error(e ? `${e.code}: ${e.message}` : `HTTP ${status}`);
}
