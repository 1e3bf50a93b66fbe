// @ts-check
/**
 * The request the page sent, as a curl command to paste in a shell: synchronous (no
 * instant_response), with inline images read from a file by `base64` instead of pages of base64.
 */

/** @param {string} s */
const singleQuoted = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** In an unquoted here-document, `\`, `$` and backquotes are special. @param {string} s */
const forHeredoc = (s) => s.replace(/[\\$`]/g, (c) => `\\${c}`);

/**
 * @param {string} endpoint the absolute URL of the controlnet endpoint
 * @param {Record<string, unknown>} payload what the page POSTed
 * @param {Record<string, string>} fileNames for each inline image field, the name of its file
 * @returns {string}
 */
export function curlCommand(endpoint, payload, fileNames) {
  const body = { ...payload };
  delete body.instant_response;
  /** @type {Map<string, string>} */
  const substitutions = new Map();
  for (const [field, name] of Object.entries(fileNames)) {
    const value = body[field];
    if (typeof value !== 'string' || !value.startsWith('data:')) continue;
    const mime = /^data:([^;,]+)/.exec(value)?.[1] ?? 'image/png';
    const marker = `@@${field}@@`;
    body[field] = marker;
    const file = name.replace(/^.*[\\/]/, '') || 'image.png';
    substitutions.set(marker, `data:${mime};base64,$(base64 -w0 ${singleQuoted(file)})`);
  }
  let json = forHeredoc(JSON.stringify(body));
  for (const [marker, text] of substitutions) json = json.replace(marker, () => text);
  return `curl -s ${singleQuoted(endpoint)} -H 'content-type: application/json' -d @- <<EOF\n${json}\nEOF`;
}
