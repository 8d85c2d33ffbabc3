// Request paths are matched only after decoding and normalising, so an encoded dot segment
// (%2e%2e), an encoded slash (%2f) or a double encoding (%252e) cannot reach a route by a
// different spelling than the one authentication looked at. Anything ambiguous is refused.

export type NormalisedPath = { ok: true; path: string } | { ok: false; reason: string };

export function normalisePath(rawPath: string): NormalisedPath {
  const out: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: 'malformed percent-encoding in the path' };
    }
    // After one decoding nothing may still look encoded or separate segments.
    if (/[%/\\\u0000-\u001f\u007f]/.test(segment)) return { ok: false, reason: 'the path has encoded separators or a double encoding' };
    if (segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return { ok: false, reason: 'the path leaves the root' };
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return { ok: true, path: '/' + out.map(encodeURIComponent).join('/') };
}
