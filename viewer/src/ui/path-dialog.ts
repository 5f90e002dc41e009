// "Server path…": a dialog that lists the folders the server opens files from (GET /api/v1/folders) and
// takes a path; the server's refusal (e.g. a path outside them) is shown in the dialog, which stays open.
export interface PathDialogOptions {
  /** Opens the path on the server; throws with the server's coded message when it refuses. */
  open(path: string): Promise<void>;
}

export function mountPathDialog(o: PathDialogOptions): { show(): Promise<void> } {
  const dialog = document.getElementById('path-dialog') as HTMLDialogElement;
  const form = document.getElementById('path-form') as HTMLFormElement;
  const list = document.getElementById('path-folders')!;
  const input = document.getElementById('path-input') as HTMLInputElement;
  const error = document.getElementById('path-error')!;
  const openBtn = document.getElementById('path-open') as HTMLButtonElement;
  document.getElementById('path-cancel')!.onclick = () => dialog.close();

  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const p = input.value.trim();
    if (!p) return void (error.textContent = 'type the path of an image file');
    error.textContent = '';
    openBtn.disabled = true;
    try {
      await o.open(p);
      dialog.close();
    } catch (e) {
      error.textContent = (e as Error).message;
    } finally {
      openBtn.disabled = false;
    }
  };

  return {
    async show() {
      error.textContent = '';
      list.replaceChildren();
      dialog.showModal();
      input.focus();
      try {
        const res = await fetch('/api/v1/folders');
        const { folders } = (await res.json()) as { folders: string[] };
        list.replaceChildren(
          ...folders.map((f) => {
            const li = document.createElement('li');
            const b = document.createElement('button');
            b.type = 'button';
            b.textContent = `${f}/`;
            b.title = 'start the path in this folder';
            b.onclick = () => {
              input.value = `${f}/`;
              input.focus();
            };
            li.append(b);
            return li;
          }),
        );
      } catch {
        error.textContent = "cannot list the server's folders";
      }
    },
  };
}
