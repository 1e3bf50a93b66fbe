// @ts-check
/** The form: its lists (models, ControlNets, schedulers) and the request body it stands for. */

/** @typedef {{ name: string, usable_for_generation: boolean, reason?: string, karras_sigmas: boolean, algorithm_types?: string[] }} SchedulerDetail */

/** @param {HTMLSelectElement} select @param {{ value: string, label?: string, disabled?: boolean, title?: string }[]} options @param {string} [keep] */
export function fillSelect(select, options, keep = select.value) {
  select.replaceChildren(
    ...options.map(({ value, label, disabled, title }) => {
      const option = new Option(label ?? value, value);
      option.disabled = Boolean(disabled);
      if (title) option.title = title;
      return option;
    }),
  );
  if (options.some((o) => o.value === keep && !o.disabled)) select.value = keep;
}

/** Up to `max` rows of ControlNet + hint type + conditioning scale. */
export class ControlNetUnits {
  /** @param {HTMLElement} container @param {HTMLButtonElement} addButton */
  constructor(container, addButton) {
    this.container = container;
    this.addButton = addButton;
    /** @type {string[]} */
    this.controlnets = [];
    /** @type {string[]} */
    this.types = [];
    this.max = 4;
    addButton.addEventListener('click', () => this.add());
  }

  /** @param {string[]} controlnets @param {string[]} types */
  setChoices(controlnets, types) {
    this.controlnets = controlnets;
    this.types = types;
    if (this.rows().length === 0) this.add();
    for (const row of this.rows()) this.fill(row);
  }

  /** @returns {HTMLElement[]} */
  rows() {
    return /** @type {HTMLElement[]} */ ([...this.container.querySelectorAll('.unit')]);
  }

  add() {
    if (this.rows().length >= this.max) return;
    const row = document.createElement('div');
    row.className = 'unit';
    const model = document.createElement('select');
    model.name = 'unit_model';
    model.setAttribute('aria-label', 'ControlNet');
    const type = document.createElement('select');
    type.name = 'unit_type';
    type.setAttribute('aria-label', 'hint type');
    const scale = document.createElement('input');
    scale.name = 'unit_scale';
    scale.type = 'number';
    scale.min = '0';
    scale.max = '20';
    scale.step = '0.05';
    scale.value = '1';
    scale.title = 'conditioning scale';
    scale.setAttribute('aria-label', 'conditioning scale');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary small';
    remove.textContent = '×';
    remove.title = 'remove this ControlNet';
    remove.addEventListener('click', () => {
      if (this.rows().length > 1) row.remove();
      this.update();
    });
    // A ControlNet named after a hint type gets that type.
    model.addEventListener('change', () => {
      if (this.types.includes(model.value)) type.value = model.value;
    });
    row.append(model, type, scale, remove);
    this.container.append(row);
    this.fill(row);
    this.update();
  }

  /** @param {HTMLElement} row */
  fill(row) {
    const [model, type] = /** @type {HTMLSelectElement[]} */ ([...row.querySelectorAll('select')]);
    const taken = this.rows()
      .filter((r) => r !== row)
      .map((r) => /** @type {HTMLSelectElement} */ (r.querySelector('select')).value);
    const names = this.controlnets.length > 0 ? this.controlnets : [];
    fillSelect(
      model,
      names.map((value) => ({ value })),
      model.value || names.find((n) => !taken.includes(n)) || names[0],
    );
    if (names.length === 0) fillSelect(model, [{ value: '', label: 'enter your key to list ControlNets', disabled: true }]);
    fillSelect(
      type,
      this.types.map((value) => ({ value })),
      type.value || (this.types.includes(model.value) ? model.value : this.types[0]),
    );
  }

  update() {
    this.addButton.disabled = this.rows().length >= this.max;
  }

  /** @returns {{ model: string, type: string, scale: string }[]} */
  values() {
    return this.rows().map((row) => {
      const [model, type] = /** @type {HTMLSelectElement[]} */ ([...row.querySelectorAll('select')]);
      const scale = /** @type {HTMLInputElement} */ (row.querySelector('input'));
      return { model: model.value, type: type.value, scale: scale.value.trim() || '1' };
    });
  }
}

/**
 * The contract's request body for what the form shows (numbers as typed: the server checks them); `custom` is
 * the Customise section's fields (LoRA, embeddings, upscale, safety checker).
 * @param {HTMLFormElement} form @param {ControlNetUnits} units @param {string | null} image @param {string | null} mask
 * @param {Record<string, string>} [custom]
 * @returns {Record<string, unknown>}
 */
export function requestBody(form, units, image, mask, custom = {}) {
  const data = new FormData(form);
  const text = (/** @type {string} */ name) => String(data.get(name) ?? '').trim();
  const orNull = (/** @type {string} */ name) => text(name) || null;
  const yesNo = (/** @type {string} */ name) => (data.get(name) === 'on' ? 'yes' : 'no');
  const list = units.values();
  return {
    key: text('key'),
    model_id: orNull('model_id'),
    controlnet_model: list.map((u) => u.model).join(','),
    controlnet_type: list.map((u) => u.type).join(','),
    controlnet_conditioning_scale: list.map((u) => u.scale).join(','),
    auto_hint: yesNo('auto_hint'),
    guess_mode: yesNo('guess_mode'),
    prompt: text('prompt'),
    negative_prompt: orNull('negative_prompt'),
    init_image: image,
    mask_image: mask,
    width: text('width'),
    height: text('height'),
    samples: text('samples'),
    num_inference_steps: text('num_inference_steps'),
    scheduler: text('scheduler'),
    use_karras_sigmas: yesNo('use_karras_sigmas'),
    algorithm_type: orNull('algorithm_type'),
    guidance_scale: text('guidance_scale'),
    strength: text('strength'),
    seed: orNull('seed'),
    clip_skip: text('clip_skip'),
    vae: orNull('vae'),
    detect_resolution: text('detect_resolution'),
    low_threshold: text('low_threshold'),
    high_threshold: text('high_threshold'),
    temp: yesNo('temp'),
    safety_checker: 'no',
    ...custom,
    instant_response: 'yes',
  };
}
