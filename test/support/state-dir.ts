/**
 * Vitest setup file: every test file (and every daemon it spawns, through the environment) keeps
 * its state folder (the generated HTTP password, the API token) in a temp folder of its own, never
 * in /var/lib/trt-detect or ~/.local/state (config `state_dir` unset: $STATE_DIRECTORY wins).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'trt-state-'));
process.env.STATE_DIRECTORY = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
