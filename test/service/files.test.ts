import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileWriteProblem, makeDirs } from '../../daemon/core/files.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('files');
afterAll(cleanup);

describe('makeDirs', () => {
  it('creates missing parents and accepts an existing folder', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirs(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    makeDirs(deep);
    makeDirs(join(dir, 'a'));
  });

  it('names the file that is in the way', () => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    expect(() => makeDirs(join(file, 'sub', 'deeper'))).toThrow(`${file} is a file, not a folder`);
    expect(() => makeDirs(file)).toThrow(`${file} is a file, not a folder`);
  });

  it("returns at once under /proc, where Node's recursive mkdir spins forever", () => {
    const t0 = Date.now();
    expect(() => makeDirs('/proc/trt-detect-test/cam')).toThrow(/\/proc\/trt-detect-test cannot be created there \(ENOENT/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it.skipIf(process.getuid?.() === 0)('says when a folder is not writable', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    try {
      expect(() => makeDirs(join(ro, 'x'))).toThrow(`no permission to write in ${join(ro, 'x')} (EACCES)`);
    } finally {
      chmodSync(ro, 0o755);
    }
  });
});

describe('fileWriteProblem', () => {
  it('accepts a new file in an existing folder and an existing file', () => {
    expect(fileWriteProblem(join(dir, 'new.mp4'))).toBeNull();
    writeFileSync(join(dir, 'old.txt'), 'x');
    expect(fileWriteProblem(join(dir, 'old.txt'))).toBeNull();
  });

  it('names a missing folder, a file in the way and a folder given as the file', () => {
    expect(fileWriteProblem(join(dir, 'missing', 'out.mp4'))).toBe(`folder ${join(dir, 'missing')} does not exist`);
    writeFileSync(join(dir, 'blocker'), 'x');
    expect(fileWriteProblem(join(dir, 'blocker', 'out.mp4'))).toBe(`${join(dir, 'blocker')} is a file, not a folder`);
    mkdirSync(join(dir, 'adir'));
    expect(fileWriteProblem(join(dir, 'adir'))).toBe(`${join(dir, 'adir')} is a folder (give a file name)`);
  });
});
