/** The config layer's name for the one masking function (core/secrets.ts). */
export { maskSecrets } from '../core/secrets.js';
