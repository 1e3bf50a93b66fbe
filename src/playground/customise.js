// @ts-check
/**
 * The form's "Customise" section: LoRAs (each with a strength), textual-inversion embeddings (checking one adds
 * its trigger word to the prompt), `upscale` and `safety_checker`, offered from what `get_all_models` lists.
 */
import { customiseFields, safetyCheckerInstalled, withoutTrigger, withTrigger } from './customise-choices.js';
import { fillSelect } from './form.js';

/** @typedef {import('./customise-choices.js').CustomiseChoices} CustomiseChoices */
/**
 * @typedef {{
 *   loras: HTMLElement, lorasNone: HTMLElement, embeddingsField: HTMLElement, embeddings: HTMLElement,
 *   upscale: HTMLSelectElement, upscaleHint: HTMLElement, safety: HTMLInputElement, safetyHint: HTMLElement,
 *   prompt: HTMLTextAreaElement,
 * }} CustomiseParts
 */

/** The slider's range (the number beside it takes the contract's whole −10–10). */
const SLIDER = { min: -2, max: 2, step: 0.05 };

export class Customise {
  /** @param {CustomiseParts} parts */
  constructor(parts) {
    this.parts = parts;
    /** @type {CustomiseChoices | null} */
    this.choices = null;
    /** Trigger words this section put in the prompt (taken out again when their embedding is unchecked). */
    /** @type {Set<string>} */
    this.inserted = new Set();
  }

  /** @param {CustomiseChoices} choices @param {string} modelId */
  setChoices(choices, modelId) {
    this.choices = choices;
    this.fillLoras(choices.loras);
    this.fillEmbeddings(choices);
    const { upscale, upscaleHint } = this.parts;
    fillSelect(upscale, choices.upscale.options, upscale.value || 'no');
    upscale.disabled = choices.upscale.options.length < 2;
    upscaleHint.textContent =
      choices.upscale.installed === false ? 'no upscaler installed (models/upscalers/<name>/model.onnx)' : 'images at that factor × width × height';
    this.setModel(modelId);
  }

  /** The safety checker runs where the model has its own or a shared one is installed. @param {string} modelId */
  setModel(modelId) {
    const { safety, safetyHint } = this.parts;
    const installed = this.choices ? safetyCheckerInstalled(this.choices, modelId) : null;
    safety.disabled = installed === false;
    if (installed === false) safety.checked = false;
    safetyHint.textContent =
      installed === false
        ? `none installed for ${modelId || 'this model'} (models/safety_checker/ or models/${modelId || '<model_id>'}/safety_checker/)`
        : 'flagged images come back black';
  }

  /** @param {string[]} ids */
  fillLoras(ids) {
    const before = new Map(this.loraRows().map((r) => [r.id, r]));
    this.parts.loras.replaceChildren(
      ...ids.map((id) => {
        const old = before.get(id);
        const row = document.createElement('div');
        row.className = 'pick lora';
        row.dataset.id = id;
        const label = document.createElement('label');
        const check = document.createElement('input');
        check.type = 'checkbox';
        check.name = 'lora_pick';
        check.value = id;
        check.checked = old?.checked ?? false;
        label.append(check, ` ${id}`);
        const slider = document.createElement('input');
        slider.type = 'range';
        slider.min = String(SLIDER.min);
        slider.max = String(SLIDER.max);
        slider.step = String(SLIDER.step);
        slider.setAttribute('aria-label', `strength of ${id}`);
        const number = document.createElement('input');
        number.type = 'number';
        number.name = 'lora_strength';
        number.min = '-10';
        number.max = '10';
        number.step = '0.05';
        number.value = old?.strength ?? '1';
        number.title = 'strength';
        number.setAttribute('aria-label', `strength of ${id} (number)`);
        slider.value = number.value;
        slider.addEventListener('input', () => (number.value = slider.value));
        number.addEventListener('input', () => (slider.value = number.value));
        const enable = () => {
          slider.disabled = !check.checked;
          number.disabled = !check.checked;
          row.classList.toggle('on', check.checked);
        };
        check.addEventListener('change', enable);
        enable();
        row.append(label, slider, number);
        return row;
      }),
    );
    this.parts.lorasNone.textContent = 'none installed (models/lora/<id>.safetensors)';
    this.parts.lorasNone.hidden = ids.length > 0;
  }

  /** Hidden when none is listed. @param {CustomiseChoices} choices */
  fillEmbeddings(choices) {
    const picked = new Set(this.pickedEmbeddings());
    this.parts.embeddings.replaceChildren(
      ...choices.embeddings.map(({ id, trigger }) => {
        const label = document.createElement('label');
        label.className = 'pick';
        const check = document.createElement('input');
        check.type = 'checkbox';
        check.name = 'embeddings_pick';
        check.value = id;
        check.checked = picked.has(id);
        check.dataset.trigger = trigger;
        check.addEventListener('change', () => this.onEmbedding(check.checked, trigger));
        const word = document.createElement('code');
        word.textContent = trigger;
        label.append(check, ` ${id} `);
        if (trigger !== id) label.append(word);
        label.title = `trigger word: ${trigger}`;
        return label;
      }),
    );
    this.parts.embeddingsField.hidden = choices.embeddings.length === 0;
  }

  /** @param {boolean} checked @param {string} trigger */
  onEmbedding(checked, trigger) {
    const prompt = this.parts.prompt;
    if (checked) {
      const next = withTrigger(prompt.value, trigger);
      if (next !== prompt.value) {
        prompt.value = next;
        this.inserted.add(trigger);
      }
    } else if (this.inserted.delete(trigger)) {
      prompt.value = withoutTrigger(prompt.value, trigger);
    }
  }

  /** @returns {{ id: string, checked: boolean, strength: string }[]} */
  loraRows() {
    return [...this.parts.loras.querySelectorAll('.pick')].map((row) => {
      const check = /** @type {HTMLInputElement} */ (row.querySelector('input[type=checkbox]'));
      const number = /** @type {HTMLInputElement} */ (row.querySelector('input[type=number]'));
      return { id: check.value, checked: check.checked, strength: number.value };
    });
  }

  /** @returns {string[]} */
  pickedEmbeddings() {
    return [...this.parts.embeddings.querySelectorAll('input[type=checkbox]')].flatMap((el) => {
      const check = /** @type {HTMLInputElement} */ (el);
      return check.checked ? [check.value] : [];
    });
  }

  /** The contract's fields for what is picked. */
  fields() {
    return customiseFields({
      loras: this.loraRows().filter((r) => r.checked),
      embeddings: this.pickedEmbeddings(),
      upscale: this.parts.upscale.value,
      safetyChecker: this.parts.safety.checked && !this.parts.safety.disabled,
    });
  }
}
