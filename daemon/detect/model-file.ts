import { existsSync } from 'node:fs';
import { ConfigError } from '../core/errors.js';
import { registryModelForFile } from '../models/registry.js';

/**
 * The one check (and message) for a model file that is not there, for every command and the
 * daemon: a model that `trt-detect models pull` makes says how to pull it.
 */
export function requireModelFile(modelPath: string): void {
  if (existsSync(modelPath)) return;
  const pulled = registryModelForFile(modelPath);
  const hint = pulled ? `pull it with: trt-detect models pull ${pulled.name}, or check model.path or -m` : 'check model.path or -m';
  throw new ConfigError(`${modelPath}: model file not found (${hint})`);
}
