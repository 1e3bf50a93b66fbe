// @ts-check
/** A finished generation: its images, `warnings` and `meta`, readable. */

/**
 * Output URLs are built from PUBLIC_URL, which may name another origin than the page's (a proxy): the
 * page shows them through its own origin, where the server answers the same path.
 * @param {string} url @param {URL} apiBase
 */
export function sameOriginImage(url, apiBase) {
  const parsed = new URL(url, location.href);
  if (parsed.origin === location.origin) return parsed.href;
  const file = /\/generations\/([^/]+)$/.exec(parsed.pathname)?.[1];
  return file ? new URL(`../../../generations/${file}`, apiBase).href : parsed.href;
}

/** @param {unknown} value */
function show(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** @typedef {{ outputs: HTMLElement, summary: HTMLElement, warnings: HTMLElement, meta: HTMLElement, metaPanel: HTMLElement }} ResultParts */

/**
 * What ran, in one line: model, mode, size, steps, seed, scheduler, time.
 * @param {Record<string, unknown>} meta @param {number | undefined} seconds
 */
function summaryOf(meta, seconds) {
  const steps =
    meta.denoising_steps !== undefined && meta.denoising_steps !== meta.steps ? `${meta.denoising_steps} of ${meta.steps} steps` : `${meta.steps} steps`;
  return [meta.model, meta.mode, `${meta.W}×${meta.H}`, steps, `seed ${meta.seed}`, meta.scheduler, seconds === undefined ? null : `${seconds} s`]
    .filter((part) => part !== null && part !== undefined)
    .join(' · ');
}

/**
 * @param {ResultParts} parts
 * @param {{ id: number, output: string[], warnings?: string[], meta?: Record<string, unknown>, generationTime?: number }} body
 * @param {URL} apiBase
 */
export function renderResult(parts, body, apiBase) {
  parts.outputs.replaceChildren(
    ...body.output.map((url, k) => {
      const figure = document.createElement('figure');
      const link = document.createElement('a');
      link.href = sameOriginImage(url, apiBase);
      link.target = '_blank';
      link.rel = 'noopener';
      const img = document.createElement('img');
      img.src = link.href;
      img.alt = `output ${k + 1} of job ${body.id}`;
      const caption = document.createElement('figcaption');
      caption.textContent = `#${k + 1}`;
      img.addEventListener('load', () => {
        caption.textContent = `#${k + 1} · ${img.naturalWidth}×${img.naturalHeight}`;
      });
      link.append(img);
      figure.append(link, caption);
      return figure;
    }),
  );

  parts.summary.textContent = summaryOf(body.meta ?? {}, body.generationTime);

  const warnings = body.warnings ?? [];
  parts.warnings.replaceChildren(
    ...warnings.map((w) => {
      const li = document.createElement('li');
      li.textContent = w;
      return li;
    }),
  );
  parts.warnings.hidden = warnings.length === 0;

  const meta = { id: body.id, generationTime: body.generationTime, ...(body.meta ?? {}) };
  parts.meta.replaceChildren(
    ...Object.entries(meta).flatMap(([key, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = key;
      const dd = document.createElement('dd');
      dd.textContent = show(value);
      return [dt, dd];
    }),
  );
  parts.metaPanel.hidden = false;
}

/** @param {ResultParts} parts */
export function clearResult(parts) {
  parts.outputs.replaceChildren();
  parts.summary.textContent = '';
  parts.warnings.replaceChildren();
  parts.warnings.hidden = true;
  parts.meta.replaceChildren();
  parts.metaPanel.hidden = true;
}
