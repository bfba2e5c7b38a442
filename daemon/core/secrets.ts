/**
 * The one place secrets are masked before text leaves the process (logs, check-config, MQTT status
 * and error messages): in every `scheme://` URL found in the text, the password of its user info
 * and the values of secret-looking query parameters become ***. Everything else is left as it was.
 */

const MASK = '***';

/** a URL in text: a scheme, `//`, then everything up to white space, a quote or an angle bracket */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/** host[:port]/path?…: an `@` after this is in the query, not the end of user info */
const HOST_PATH_QUERY = /^[a-z0-9.\-[\]]+(:\d{1,5})?\/[^@]*\?/i;

/**
 * Query parameters that carry secrets, by name (any case): password, pass, pwd, token, key, secret,
 * auth, signature (and passwd, apikey), alone or at the end of a longer name after `_` or `-`
 * (api_key, access_token, X-Amz-Signature).
 */
const SECRET_PARAM = /([?&;](?:[a-z0-9]+[_-])*(?:password|passwd|pass|pwd|token|key|apikey|secret|auth|signature)=)[^&;#\s"'<>`]*/gi;

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

/**
 * Text fit for logs and messages: `rtsp://admin:p@ss@host/s?token=x` → `rtsp://admin:***@host/s?token=***`.
 * Works on any text (command lines, pipelines, error messages) and on URLs that are not valid
 * (camera passwords often hold unescaped @, : or /); where it has to guess it masks too much.
 */
export function maskSecrets(text: string): string {
  if (!text.includes('://') && !/[?&;]/.test(text)) return text;
  return text.replace(URL_IN_TEXT, (_all, scheme: string, rest: string) => scheme + maskUserInfo(rest)).replace(SECRET_PARAM, `$1${MASK}`);
}
