/**
 * The one place secrets are masked before text leaves the process (logs, check-config, MQTT status
 * and stats, the HTTP API and the web UI): in every `scheme://` URL found in the text, the password
 * of its user info; the values of secret-looking parameters (in a query, a fragment, an `&`-list,
 * a command line or a pipeline); the credentials of `Basic`/`Bearer` authorization values; and
 * every value registered with `addSecret` (the MQTT password and password file, the HTTP password
 * and token, camera passwords) wherever it appears, also percent-encoded. Everything else is left
 * as it was.
 */

const MASK = '***';

/** a URL in text: a scheme, `//`, then everything up to white space, a quote or an angle bracket */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/** host[:port]/path?…: an `@` after this is in the query, not the end of user info */
const HOST_PATH_QUERY = /^[a-z0-9.\-[\]]+(:\d{1,5})?\/[^@]*\?/i;

/**
 * Parameters that carry secrets, by name (any case): password, pass, pwd, pw, token, key, secret,
 * auth, signature (and passwd, apikey), alone or at the end of a longer name after `_` or `-`
 * (api_key, access_token, X-Amz-Signature, user-pw), after `?`, `&`, `;`, `#`, white space or a
 * quote (queries, fragments, `&`-lists, `name=value` in command lines and pipelines). The value
 * runs to the next separator; a double-quoted value is masked whole.
 */
const SECRET_PARAM =
  /((?:^|[?&;#\s"'(,])-{0,2}(?:[a-z0-9]+[_-])*(?:password|passwd|pass|pwd|pw|token|key|apikey|secret|auth|signature)=)("[^"]*"|[^&;#\s"'<>`,)]*)/gi;

/** the same names as JSON keys: `"password": "…"`, `"api_key":"…"` */
const SECRET_JSON = /("(?:[a-z0-9]+[_-])*(?:password|passwd|pass|pwd|pw|token|key|apikey|secret|auth|signature)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/** `Basic dXNlcjpwYXNz`, `Bearer eyJ…` (not `Basic realm=…`) */
const AUTH_VALUE = /\b(Basic|Bearer)\s+(?![a-z]+=)[A-Za-z0-9+/=._~-]{6,}/g;

/** values masked wherever they appear (addSecret); short ones are not (they would mask common text) */
const known = new Set<string>();
const MIN_KNOWN = 4;

/**
 * Registers a secret value (a password, a token, a password file's content) so that every text
 * masked from now on shows *** instead of it, also percent-encoded. Values shorter than 4
 * characters are not registered (they would mask ordinary words and numbers).
 */
export function addSecret(value: string | null | undefined): void {
  if (!value) return;
  const v = value.trim();
  if (v.length < MIN_KNOWN || v === MASK) return;
  known.add(v);
  const encoded = encodeURIComponent(v);
  if (encoded !== v) known.add(encoded);
  // longest first, so that a secret containing another is masked whole
  const sorted = [...known].sort((a, b) => b.length - a.length);
  known.clear();
  for (const s of sorted) known.add(s);
}

/** Forgets the registered secrets (tests; a reload registers the new config's). */
export function clearSecrets(): void {
  known.clear();
}

/** Masks the user-info password of one URL's rest (what follows `scheme://`). */
function maskUserInfo(rest: string): string {
  const firstAt = rest.indexOf('@');
  if (firstAt < 0) return rest;
  // the user info ends at the last @ before the query (a password may hold @, :, / or ?)
  const q = rest.slice(firstAt).search(/[?#]/);
  const at = rest.lastIndexOf('@', q < 0 ? rest.length : firstAt + q);
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return rest; // a user name only
  if (HOST_PATH_QUERY.test(userinfo)) return rest; // rtsp://host:554/s?mail=a@b: no user info at all
  if (userinfo.slice(colon + 1) === MASK) return rest;
  return `${userinfo.slice(0, colon)}:${MASK}${rest.slice(at)}`;
}

function maskKnown(text: string): string {
  let out = text;
  for (const s of known) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

/**
 * Text fit for logs and messages: `rtsp://admin:p@ss@host/s?token=x` → `rtsp://admin:***@host/s?token=***`.
 * Works on any text (command lines, pipelines, error messages) and on URLs that are not valid
 * (camera passwords often hold unescaped @, : or /); where it has to guess it masks too much.
 */
export function maskSecrets(text: string): string {
  let out = known.size ? maskKnown(text) : text;
  if (!out.includes('=') && !out.includes('://') && !out.includes('"') && !/\b(Basic|Bearer)\s/.test(out)) return out;
  out = out.replace(URL_IN_TEXT, (_all, scheme: string, rest: string) => scheme + maskUserInfo(rest));
  out = out.replace(SECRET_PARAM, `$1${MASK}`);
  out = out.replace(SECRET_JSON, `$1"${MASK}"`);
  return out.replace(AUTH_VALUE, `$1 ${MASK}`);
}

/** A plain object or array with every string in it (keys kept) passed through maskSecrets, for JSON that leaves the process. */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return maskSecrets(value) as unknown as T;
  if (Array.isArray(value)) return value.map((v: unknown) => maskDeep(v)) as unknown as T;
  if (value && typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = maskDeep(v);
    return out as T;
  }
  return value;
}
