/**
 * A URL as it may appear in logs: user info and the query string (tokens, signatures) replaced by
 * "[redacted]"; scheme, host and path kept. Anything that does not parse is reduced to a marker.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '[not a URL]';
  }
  const auth = url.username || url.password ? '[redacted]@' : '';
  const query = url.search ? '?[redacted]' : '';
  const hash = url.hash ? '#[redacted]' : '';
  return `${url.protocol}//${auth}${url.host}${url.pathname}${query}${hash}`;
}

/** A request path for logs: the `key` query parameter (EventSource clients' API key) redacted, others kept. */
export function redactRequestPath(path: string): string {
  const at = path.indexOf('?');
  if (at === -1) return path;
  const query = path
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=')[0] ?? '';
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        return '[redacted]';
      }
      return /^(key|api_key|apikey|token|access_token)$/i.test(decoded.trim()) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${path.slice(0, at)}?${query}`;
}
