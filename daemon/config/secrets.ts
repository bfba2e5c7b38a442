const MASK = '***';

/** Query parameters cameras and brokers commonly carry secrets in. */
const SECRET_PARAMS = /([?&;](?:password|passwd|pass|pwd|token|secret|key|auth|apikey|api_key)=)[^&;#]*/gi;

/**
 * A URL fit for logs: the password of `scheme://user:password@host/...` and secret-looking query
 * parameters are replaced by ***. Works on text that is not a valid URL too (camera passwords often
 * hold unescaped characters such as @ or /), masking too much rather than too little.
 */
export function maskSecrets(url: string): string {
  let out = url;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i.exec(out);
  if (m) {
    const rest = m[2];
    const end = rest.search(/[?#]/);
    const at = rest.lastIndexOf('@', end < 0 ? rest.length : end);
    if (at > 0) {
      const userinfo = rest.slice(0, at);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) out = `${m[1]}${userinfo.slice(0, colon)}:${MASK}${rest.slice(at)}`;
    }
  }
  return out.replace(SECRET_PARAMS, `$1${MASK}`);
}
