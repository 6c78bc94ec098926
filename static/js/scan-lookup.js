// Is a code the live camera read a bin? (docs/manual/decoding.md, "Feedback while aiming".) The
// server decides (GET /api/resolve, the rules of docs/manual/spec.md §3.1, nothing changed); this
// module asks once per code and remembers the answer while the page is open. When the server
// cannot be reached the answer is "unknown": the scan is then queued as usual, and the
// server's answer to it says what it was.

export const Found = Object.freeze({ BIN: 'bin', NOT_BIN: 'not-bin', UNKNOWN: 'unknown' });

const TIMEOUT_MS = 1500;
const KEEP_MS = 60000; // a bin made meanwhile shows up within a minute
const known = new Map();

export async function lookUp(url, text) {
  const kept = known.get(text);
  if (kept && performance.now() - kept.at < KEEP_MS) return kept.answer;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  let answer;
  try {
    const resp = await fetch(`${url}?code=${encodeURIComponent(text)}`, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      signal: ctl.signal,
    });
    const data = await resp.json().catch(() => null);
    if (resp.ok && data && data.bin) {
      answer = { found: Found.BIN, bin: data.bin, message: '' };
    } else if (resp.status >= 400 && resp.status < 500 && resp.status !== 401 && resp.status !== 403) {
      const err = (data && data.error) || {};
      answer = { found: Found.NOT_BIN, bin: null, code: err.code || '', message: err.message || '' };
    } else {
      return { found: Found.UNKNOWN, bin: null, message: '' };
    }
  } catch {
    return { found: Found.UNKNOWN, bin: null, message: '' };
  } finally {
    clearTimeout(timer);
  }
  known.set(text, { answer, at: performance.now() });
  return answer;
}
