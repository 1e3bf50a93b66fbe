// @ts-check
/** The input image: chosen, dropped or pasted (sent inline as a data: URI), or given by URL. */

/** @typedef {{ source: string, name: string, inline: boolean }} ImageValue */

/** @param {Blob} blob @returns {Promise<string>} */
function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** @param {string} src @returns {Promise<{width: number, height: number}>} */
function sizeOf(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error('not an image this browser can read'));
    img.src = src;
  });
}

export class ImageInput {
  /**
   * @param {{ drop: HTMLElement, file: HTMLInputElement, url?: HTMLInputElement, preview: HTMLImageElement,
   *           text: HTMLElement, info: HTMLElement, clear?: HTMLButtonElement, paste: boolean, onChange: () => void }} parts
   */
  constructor(parts) {
    this.parts = parts;
    /** @type {ImageValue | null} */
    this.file = null;
    const { drop, file, url, clear } = parts;
    drop.addEventListener('click', () => file.click());
    drop.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        file.click();
      }
    });
    file.addEventListener('change', () => {
      if (file.files?.[0]) void this.useBlob(file.files[0], file.files[0].name);
    });
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const dropped = e.dataTransfer?.files?.[0];
      if (dropped) void this.useBlob(dropped, dropped.name);
      else {
        const text = e.dataTransfer?.getData('text/uri-list') || e.dataTransfer?.getData('text/plain');
        if (text) this.useUrl(text.trim());
      }
    });
    clear?.addEventListener('click', (e) => {
      e.stopPropagation();
      this.clearFile();
      this.parts.info.textContent = '';
      this.parts.onChange();
    });
    if (parts.paste)
      document.addEventListener('paste', (e) => {
        // An image pasted anywhere on the page becomes the input; pasted text stays text.
        const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file' && i.type.startsWith('image/'));
        const blob = item?.getAsFile();
        if (!blob) return;
        e.preventDefault();
        void this.useBlob(blob, blob.name && blob.name !== 'image.png' ? blob.name : 'pasted.png');
      });
    url?.addEventListener('input', () => {
      if (url.value.trim()) this.clearFile();
      this.parts.info.textContent = url.value.trim() ? 'The server fetches the URL (the page does not show remote images).' : '';
      this.parts.onChange();
    });
  }

  /** @param {Blob} blob @param {string} name */
  async useBlob(blob, name) {
    const { preview, text, info, url, clear } = this.parts;
    if (!blob.type.startsWith('image/')) {
      info.textContent = `${name} is not an image`;
      return;
    }
    const source = await readAsDataUrl(blob);
    this.file = { source, name, inline: true };
    if (url) url.value = '';
    preview.src = source;
    preview.hidden = false;
    text.hidden = true;
    if (clear) clear.hidden = false;
    info.textContent = `${name}, ${Math.round(blob.size / 1024)} KiB`;
    try {
      const { width, height } = await sizeOf(source);
      info.textContent = `${name}, ${width}×${height}, ${Math.round(blob.size / 1024)} KiB`;
    } catch (err) {
      info.textContent = `${name}: ${/** @type {Error} */ (err).message}`;
    }
    this.parts.onChange();
  }

  /** @param {string} value */
  useUrl(value) {
    if (!this.parts.url) return;
    this.parts.url.value = value;
    this.parts.url.dispatchEvent(new Event('input'));
  }

  clearFile() {
    this.file = null;
    this.parts.file.value = '';
    this.parts.preview.hidden = true;
    this.parts.preview.removeAttribute('src');
    this.parts.text.hidden = false;
    if (this.parts.clear) this.parts.clear.hidden = true;
  }

  /** @returns {ImageValue | null} */
  value() {
    const url = this.parts.url?.value.trim();
    if (url) return { source: url, name: url, inline: false };
    return this.file;
  }
}
