// @ts-check
import { API_BASE, ApiError, getJson, jobEvents, postForImage, postJson } from './api.js';
import { curlCommand } from './curl.js';
import { Customise } from './customise.js';
import { customiseChoices } from './customise-choices.js';
import { clearErrors, showErrors } from './field-errors.js';
import { ControlNetUnits, fillSelect, requestBody } from './form.js';
import { ImageInput } from './image-input.js';
import { clearResult, renderResult } from './results.js';

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));

const KEY_STORAGE = 'controlnet-playground-key';
const form = /** @type {HTMLFormElement} */ ($('form'));
const field = (/** @type {string} */ name) => /** @type {HTMLInputElement & HTMLSelectElement} */ (form.elements.namedItem(name));
const resultPanel = $('result');
const progress = /** @type {HTMLProgressElement} */ ($('progress'));
const progressText = $('progress-text');
const jobError = $('job-error');
const generate = /** @type {HTMLButtonElement} */ ($('generate'));
const results = { outputs: $('outputs'), summary: $('summary'), applied: $('applied'), warnings: $('warnings'), meta: $('meta'), metaPanel: $('meta-panel') };
const units = new ControlNetUnits($('units'), /** @type {HTMLButtonElement} */ ($('add-unit')));
const customise = new Customise({
  loras: $('loras'),
  lorasNone: $('loras-none'),
  embeddingsField: $('embeddings-field'),
  embeddings: $('embeddings'),
  upscale: field('upscale'),
  upscaleHint: $('upscale-hint'),
  safety: field('safety_checker'),
  safetyHint: $('safety-hint'),
  prompt: /** @type {HTMLTextAreaElement} */ (/** @type {unknown} */ (field('prompt'))),
});
const image = new ImageInput({
  drop: $('drop'),
  file: /** @type {HTMLInputElement} */ ($('file')),
  url: field('image_url'),
  preview: /** @type {HTMLImageElement} */ ($('input-preview')),
  text: $('drop-text'),
  info: $('image-info'),
  paste: true,
  onChange: () => $('hints').replaceChildren(),
});
const mask = new ImageInput({
  drop: $('mask-drop'),
  file: /** @type {HTMLInputElement} */ ($('mask-file')),
  preview: /** @type {HTMLImageElement} */ ($('mask-preview')),
  text: $('mask-text'),
  info: $('mask-info'),
  clear: /** @type {HTMLButtonElement} */ ($('mask-clear')),
  paste: false,
  onChange: () => $('hints').replaceChildren(),
});

/** The images' fields in a request, and the names of the files sent inline (for the curl command). */
function images() {
  const init = image.value();
  const masked = mask.value();
  /** @type {Record<string, string>} */
  const files = {};
  if (init?.inline) files.init_image = init.name;
  if (masked?.inline) files.mask_image = masked.name;
  return { init: init?.source ?? null, mask: masked?.source ?? null, files };
}

/** @typedef {import('./form.js').SchedulerDetail} SchedulerDetail */
/** @type {SchedulerDetail[]} */
let schedulerDetails = [];
/** The server's DEFAULT_MODEL, selected first. */
let defaultModel = '';

/** @param {string} text @param {number} [value] @param {number} [max] */
function setProgress(text, value, max) {
  progressText.textContent = text;
  if (value === undefined || max === undefined) progress.removeAttribute('value');
  else {
    progress.max = Math.max(1, max);
    progress.value = value;
  }
}

/** Errors of a request the form made: next to the fields they name (the form's box for the rest). */
function showRequestError(/** @type {unknown} */ err) {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError || /^[a-z_]+[.:[]/i.test(message)) showErrors(form, message);
  else showErrors(form, `form: ${message}`);
}

async function loadOptions() {
  const options = await getJson('options.json');
  units.setChoices(units.controlnets, options.hint_types);
  defaultModel = options.default_model ?? '';
  // The GET form needs no key; a server that wants one for it is asked again once the key is typed.
  await loadSchedulers(() => getJson(new URL('schedulers_list', API_BASE).href)).catch(() => undefined);
}

/** @param {() => Promise<{ details: SchedulerDetail[] }>} request */
async function loadSchedulers(request) {
  schedulerDetails = (await request()).details;
  fillSelect(
    field('scheduler'),
    schedulerDetails.map((s) => ({ value: s.name, disabled: !s.usable_for_generation, title: s.reason })),
    field('scheduler').value || 'UniPCMultistepScheduler',
  );
  onSchedulerChange();
}

function onSchedulerChange() {
  const detail = schedulerDetails.find((s) => s.name === field('scheduler').value);
  const algorithms = detail?.algorithm_types ?? [];
  fillSelect(field('algorithm_type'), [{ value: '', label: 'default' }, ...algorithms.map((/** @type {string} */ value) => ({ value }))]);
  field('algorithm_type').disabled = algorithms.length === 0;
  field('use_karras_sigmas').disabled = !detail?.karras_sigmas;
}

/** The key's models (get_all_models needs a key); a wrong key shows up next to the key field. */
async function loadModels() {
  const key = field('key').value.trim();
  if (!key) return;
  clearErrors(form);
  try {
    /** @type {import('./customise-choices.js').Listing} */
    const listing = await postJson('get_all_models', { key });
    const { models } = listing;
    const of = (/** @type {string} */ type) => models.filter((m) => m.model_type === type).map((m) => String(m.model_id));
    const bases = of('stable-diffusion');
    fillSelect(
      field('model_id'),
      bases.map((value) => ({ value })),
      field('model_id').value || defaultModel,
    );
    fillSelect(field('vae'), [{ value: '', label: "the model's own" }, ...of('vae').map((value) => ({ value }))]);
    units.setChoices(of('controlnet'), units.types);
    customise.setChoices(customiseChoices(listing), field('model_id').value);
    if (schedulerDetails.length === 0) await loadSchedulers(() => postJson('schedulers_list', { key }));
  } catch (err) {
    showRequestError(err);
  }
}

async function previewHints() {
  clearErrors(form);
  const { init, mask: maskSource } = images();
  const hints = $('hints');
  if (!init) {
    showErrors(form, 'init_image: choose, drop or paste an image, or give its URL');
    return;
  }
  const body = requestBody(form, units, init, maskSource);
  const types = [...new Set(units.values().map((u) => u.type))];
  hints.replaceChildren();
  const button = /** @type {HTMLButtonElement} */ ($('preview-hint'));
  button.disabled = true;
  try {
    // One preview per hint type; those that work are shown even when another type is refused.
    const settled = await Promise.allSettled(
      types.map((type) =>
        postForImage('controlnet/detect', {
          key: body.key,
          controlnet_type: type,
          image: init,
          mask_image: maskSource,
          width: body.width,
          height: body.height,
          detect_resolution: body.detect_resolution,
          low_threshold: body.low_threshold,
          high_threshold: body.high_threshold,
          seed: body.seed,
        }),
      ),
    );
    hints.replaceChildren(
      ...settled.flatMap((result, k) => {
        if (result.status === 'rejected') return [];
        const figure = document.createElement('figure');
        const img = document.createElement('img');
        img.src = URL.createObjectURL(result.value);
        img.alt = `${types[k]} hint`;
        img.className = 'hint';
        const caption = document.createElement('figcaption');
        caption.textContent = `${types[k]} hint`;
        figure.append(img, caption);
        return [figure];
      }),
    );
    const refused = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    if (refused.length > 0)
      showRequestError(refused.length === 1 ? refused[0] : new ApiError(400, refused.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')));
  } catch (err) {
    showRequestError(err);
  } finally {
    button.disabled = false;
  }
}

/** @type {AbortController | null} */
let running = null;

/** @param {SubmitEvent} event */
async function onGenerate(event) {
  event.preventDefault();
  clearErrors(form);
  jobError.hidden = true;
  const bad = [...form.querySelectorAll('input[type=number]')].filter((i) => /** @type {HTMLInputElement} */ (i).validity.badInput);
  if (bad.length > 0) {
    showErrors(form, bad.map((i) => `${/** @type {HTMLInputElement} */ (i).name}: must be a number`).join('; '));
    return;
  }
  running?.abort();
  const controller = new AbortController();
  running = controller;
  const { init, mask: maskSource, files } = images();
  const body = requestBody(form, units, init, maskSource, customise.fields());
  clearResult(results);
  $('curl').textContent = curlCommand(new URL('controlnet', API_BASE).href, body, files);
  $('curl-panel').hidden = false;
  generate.disabled = true;
  delete progressText.dataset.steps;
  setProgress('Sending…', 0, 1);
  // On a phone the result is below the form: bring it into view.
  if (resultPanel.getBoundingClientRect().top > innerHeight * 0.6) resultPanel.scrollIntoView({ behavior: 'smooth', block: 'start' });
  try {
    const answer = await postJson('controlnet', body, controller.signal);
    const done = answer.status === 'success' ? answer : await follow(answer.id, String(body.key), controller.signal);
    if (done.status !== 'success') throw new ApiError(500, done.message ?? 'the job failed');
    progress.value = progress.max;
    progressText.textContent = `${progressText.dataset.steps ? `${progressText.dataset.steps} steps, ` : ''}done in ${done.generationTime} s (job ${done.id})`;
    renderResult(results, done, API_BASE);
  } catch (err) {
    if (controller.signal.aborted) return;
    setProgress(err instanceof ApiError && err.status < 500 ? 'Refused.' : 'Failed.', 0, 1);
    showRequestError(err);
    jobError.textContent = err instanceof Error ? err.message : String(err);
    jobError.hidden = false;
  } finally {
    if (running === controller) generate.disabled = false;
  }
}

/**
 * Follows a queued job over its event stream until `done` (the fetch body); reconnects when the
 * stream drops, after asking `fetch` whether the job finished meanwhile.
 * @param {number} id @param {string} key @param {AbortSignal} signal
 */
async function follow(id, key, signal) {
  for (let attempt = 0; attempt < 5; attempt++) {
    for await (const { event, data } of jobEvents(id, key, signal)) {
      if (event === 'state') {
        if (data.state === 'queued') setProgress(`Queued: ${data.queue_position ?? '?'} ahead${data.eta ? `, about ${data.eta} s` : ''}`, 0, 1);
        else if (data.progress) setProgress(`Step ${data.progress.step} / ${data.progress.total}`, data.progress.step, data.progress.total);
        else setProgress('Running…', 0, 1);
      } else if (event === 'progress') {
        progressText.dataset.steps = `${data.step}/${data.total}`;
        setProgress(`Step ${data.step} / ${data.total}`, data.step, data.total);
      } else if (event === 'done') return data;
    }
    const now = await postJson(`fetch/${id}`, { key }, signal);
    if (now.status !== 'processing') return now;
    await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt + 1)));
  }
  throw new Error(`form: lost the event stream of job ${id}; fetch it later`);
}

field('key').value = sessionStorage.getItem(KEY_STORAGE) ?? '';
field('key').addEventListener('input', () => sessionStorage.setItem(KEY_STORAGE, field('key').value.trim()));
field('key').addEventListener('change', () => void loadModels());
field('scheduler').addEventListener('change', onSchedulerChange);
field('model_id').addEventListener('change', () => customise.setModel(field('model_id').value));
$('preview-hint').addEventListener('click', () => void previewHints());
form.addEventListener('submit', (e) => void onGenerate(/** @type {SubmitEvent} */ (e)));
$('copy-curl').addEventListener('click', async () => {
  const button = $('copy-curl');
  try {
    await navigator.clipboard.writeText($('curl').textContent ?? '');
    button.textContent = 'Copied';
  } catch {
    // No clipboard (plain http from another host): select the text for Ctrl+C instead.
    getSelection()?.selectAllChildren($('curl'));
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = 'Copy'), 2000);
});

loadOptions()
  .then(loadModels)
  .catch((err) => showRequestError(err))
  .finally(() => document.body.setAttribute('data-ready', 'true'));
