// @ts-check
/**
 * The server's errors read "<field>: <what>" (several joined by "; "). Each part is shown next to the
 * form control of that field; a part naming no field of the form goes to the form's general box.
 */

/** Fields the server names that the form shows under another field's control. */
const SHOWN_AT = /** @type {Record<string, string>} */ ({
  image: 'init_image',
  control_image: 'init_image',
  control_images: 'init_image',
  controlnet_type: 'controlnet_model',
  controlnet_conditioning_scale: 'controlnet_model',
  use_karras_sigmas: 'scheduler',
  lora_strength: 'lora_model',
  temp: 'form',
  request_id: 'form',
  id: 'form',
});

/**
 * @param {string} message
 * @returns {{ field: string, text: string }[]}
 */
export function splitMessage(message) {
  return message.split(/;\s+(?=[a-z_][a-z0-9_.[\]]*:\s)/i).map((part) => {
    const match = /^([a-z_][a-z0-9_]*)(?:[.[][^:]*)?:\s/i.exec(part);
    return { field: match ? match[1] : '', text: part };
  });
}

/** @param {ParentNode} root */
export function clearErrors(root) {
  for (const el of root.querySelectorAll('[data-error-for]')) {
    el.textContent = '';
    /** @type {HTMLElement} */ (el).hidden = true;
  }
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Shows `message` next to the fields it names, within `root`; returns the elements it filled.
 * @param {ParentNode} root @param {string} message
 * @returns {HTMLElement[]}
 */
export function showErrors(root, message) {
  /** @type {HTMLElement[]} */
  const shown = [];
  for (const { field, text } of splitMessage(message)) {
    const target = SHOWN_AT[field] ?? field;
    const slot =
      /** @type {HTMLElement | null} */ (root.querySelector(`[data-error-for="${CSS.escape(target)}"]`)) ??
      /** @type {HTMLElement} */ (root.querySelector('[data-error-for="form"]'));
    slot.textContent = slot.hidden || !slot.textContent ? text : `${slot.textContent}; ${text}`;
    slot.hidden = false;
    root.querySelector(`[name="${CSS.escape(target)}"]`)?.setAttribute('aria-invalid', 'true');
    shown.push(slot);
  }
  shown[0]?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  return shown;
}
