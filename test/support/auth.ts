/** Credentials for tests that talk to the daemon's HTTP or RTSP port while authentication is not their subject. */
import type { HttpAuthConfig } from '../../daemon/config/index.js';

export const TEST_USER = 'admin';
export const TEST_PASSWORD = 'test-pw';

/** http.auth with a known password (nothing is written to the state folder: the password is given) */
export const TEST_AUTH: HttpAuthConfig = { enabled: true, username: TEST_USER, password: TEST_PASSWORD, password_file: null, open_metrics: false };

/** the same as a config.yaml flow mapping, for test configs: `http: {port: 1, auth: ${TEST_AUTH_YAML}}` */
export const TEST_AUTH_YAML = `{username: ${TEST_USER}, password: ${TEST_PASSWORD}}`;

export function basicAuth(user = TEST_USER, password = TEST_PASSWORD): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
