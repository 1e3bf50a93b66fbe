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

/** @typedef {{ outputs: HTMLElement, summary: HTMLElement, applied: HTMLElement, warnings: HTMLElement, meta: HTMLElement, metaPanel: HTMLElement }} ResultParts */

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

/** @param {unknown} list a comma list (or an array) from meta @returns {string[]} */
function items(list) {
  if (Array.isArray(list)) return list.map(String);
  return typeof list === 'string' && list ? list.split(',') : [];
}

/**
 * What the Customise fields did, from meta: the LoRAs with their strengths, the embeddings, the upscaled size and
 * the safety checker's verdicts ('' when none of them ran).
 * @param {Record<string, unknown>} meta
 */
export function appliedOf(meta) {
  const parts = [];
  const loras = items(meta.lora_model);
  if (loras.length > 0) {
    const strengths = items(meta.lora_strength);
    parts.push(`LoRA ${loras.map((id, k) => `${id} × ${strengths[k] ?? strengths[0] ?? 1}`).join(', ')}`);
  }
  const embeddings = items(meta.embeddings_model);
  if (embeddings.length > 0) parts.push(`embeddings ${embeddings.join(', ')}`);
  const up = /** @type {{ factor?: number, model?: string, W?: number, H?: number } | undefined} */ (
    meta.upscale && typeof meta.upscale === 'object' ? meta.upscale : undefined
  );
  if (up) parts.push(`upscaled ${up.factor}× to ${up.W}×${up.H} (${up.model})`);
  if (Array.isArray(meta.nsfw_content_detected)) {
    const flagged = meta.nsfw_content_detected.filter(Boolean).length;
    parts.push(`safety checker: ${flagged === 0 ? 'nothing flagged' : `${flagged} of ${meta.nsfw_content_detected.length} flagged (black)`}`);
  }
  return parts.join(' · ');
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
      const nsfw = Array.isArray(body.meta?.nsfw_content_detected) ? body.meta.nsfw_content_detected[k] : undefined;
      const verdict = nsfw === true ? ' · flagged by the safety checker' : nsfw === false ? ' · safety checker: ok' : '';
      caption.textContent = `#${k + 1}${verdict}`;
      img.addEventListener('load', () => {
        caption.textContent = `#${k + 1} · ${img.naturalWidth}×${img.naturalHeight}${verdict}`;
      });
      link.append(img);
      figure.append(link, caption);
      return figure;
    }),
  );

  parts.summary.textContent = summaryOf(body.meta ?? {}, body.generationTime);
  parts.applied.textContent = appliedOf(body.meta ?? {});
  parts.applied.hidden = parts.applied.textContent === '';

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
  parts.applied.textContent = '';
  parts.applied.hidden = true;
  parts.warnings.replaceChildren();
  parts.warnings.hidden = true;
  parts.meta.replaceChildren();
  parts.metaPanel.hidden = true;
}
