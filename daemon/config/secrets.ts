import { addSecret } from '../core/secrets.js';
import type { Config } from './types.js';

/** The config layer's name for the one masking function (core/secrets.ts). */
export { maskSecrets } from '../core/secrets.js';

/** The password of a URL's user info, as written and percent-decoded; null when there is none. */
export function urlPassword(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(.*)$/i.exec(url);
  if (!m) return [];
  const rest = m[1];
  const firstAt = rest.indexOf('@');
  if (firstAt < 0) return [];
  // as maskSecrets reads it: the user info ends at the last @ before the query
  const q = rest.slice(firstAt).search(/[?#]/);
  const authority = rest.slice(0, rest.lastIndexOf('@', q < 0 ? rest.length : firstAt + q));
  const colon = authority.indexOf(':');
  if (colon < 0) return [];
  const raw = authority.slice(colon + 1);
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // not valid percent-encoding: as written
  }
  return decoded === raw ? [raw] : [raw, decoded];
}

/**
 * Registers the secrets a config holds (camera and MQTT URL passwords, mqtt.password,
 * http.auth.password) with the masking function, so that they are masked wherever they appear,
 * also in messages of other programs that echo them. Password files are registered when read.
 */
export function registerConfigSecrets(config: Config): void {
  for (const cam of Object.values(config.cameras)) for (const p of urlPassword(cam.source)) addSecret(p);
  for (const p of urlPassword(config.mqtt.url)) addSecret(p);
  addSecret(config.mqtt.password);
  addSecret(config.http.auth.password);
}
