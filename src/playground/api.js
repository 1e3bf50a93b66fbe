// @ts-check
/** Calls to the server's API, relative to the page (so it also works behind a proxy under a sub-path). */

export const API_BASE = new URL('../api/v1/enterprise/', location.href);

/** A refusal from the server: its HTTP status and its message ("<field>: <what>"). */
export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @param {Response} response @returns {Promise<ApiError>} */
async function refusal(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === 'string') return new ApiError(response.status, body.message);
  } catch {
    // not JSON: a proxy's page, say
  }
  return new ApiError(response.status, `HTTP ${response.status} ${response.statusText}`.trim());
}

/** @param {string} name @param {Record<string, unknown>} body @param {AbortSignal} [signal] */
function post(name, body, signal) {
  return fetch(new URL(name, API_BASE), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

/**
 * POSTs JSON to `name` (e.g. "get_all_models"); the parsed answer, or an ApiError.
 * @param {string} name @param {Record<string, unknown>} body @param {AbortSignal} [signal]
 * @returns {Promise<any>}
 */
export async function postJson(name, body, signal) {
  const response = await post(name, body, signal);
  if (!response.ok) throw await refusal(response);
  const json = await response.json();
  if (json && json.status === 'error') throw new ApiError(response.status, String(json.message));
  return json;
}

/**
 * POSTs JSON and expects an image back (the detect endpoint).
 * @param {string} name @param {Record<string, unknown>} body @returns {Promise<Blob>}
 */
export async function postForImage(name, body) {
  const response = await post(name, body);
  if (!response.ok) throw await refusal(response);
  return response.blob();
}

/** @param {string} name @returns {Promise<any>} */
export async function getJson(name) {
  const response = await fetch(new URL(name, location.href));
  if (!response.ok) throw await refusal(response);
  return response.json();
}

/**
 * The job's Server-Sent Events (`state`, `progress`, `done`), read with fetch so the key travels in a
 * header instead of the URL.
 * @param {number | string} id @param {string} key @param {AbortSignal} signal
 * @returns {AsyncGenerator<{event: string, data: any}>}
 */
export async function* jobEvents(id, key, signal) {
  const response = await fetch(new URL(`jobs/${id}/events`, API_BASE), {
    headers: { 'x-api-key': key, accept: 'text/event-stream' },
    signal,
  });
  if (!response.ok || !response.body) throw await refusal(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) };
    }
  }
}
