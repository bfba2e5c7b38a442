/**
 * scripts/lint-native keeps native/ buildable on a Jetson Nano (JetPack 4.6: GCC 7, CUDA 10.2):
 * host C++17 without <filesystem>, no C++20, .cu in C++14; and, under native/.clang-format and
 * native/.clang-tidy, formatted and clang-tidy clean. It passes on native/ and catches each rule in
 * files written to a temp dir (with a copy of the config files where the rule needs them).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('lint-native');
afterAll(cleanup);

// clang-format and clang-tidy (Debian packages of those names) check native/; scripts/setup --test
// installs them, so only a machine without them skips the checks that need them, never CI.
const missing = ['clang-format', 'clang-tidy'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const clangSkip = missing.length ? `${missing.join(' and ')} not installed (apt-get install ${missing.join(' ')})` : '';
if (clangSkip && process.env.CI) throw new Error(`native lint test cannot run in CI: ${clangSkip}`);
const needsClang = (name: string) => (clangSkip ? `${name} (skipped: ${clangSkip})` : name);

function lint(paths: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync('bash', [join(ROOT, 'scripts', 'lint-native'), ...paths], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, ...env },
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Writes `lines` to dir/name and returns the path. */
function source(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** A folder dir/name holding a copy of native/<config> (.clang-format or .clang-tidy). */
function configured(name: string, config: string): string {
  mkdirSync(join(dir, name), { recursive: true });
  copyFileSync(join(ROOT, 'native', config), join(dir, name, config));
  return name;
}

describe('scripts/lint-native', () => {
  it.skipIf(!!clangSkip)(
    needsClang('passes on native/ (the sources the addon is built from): Jetson rules, clang-format, clang-tidy'),
    () => {
      const res = lint([]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/lint-native: \d+ file\(s\) OK \(.*; \d+ clang-formatted; \d+ clang-tidy clean\)/);
    },
    180_000,
  ); // clang-tidy over the host sources: ~20 s on 2 idle cores

  it('reports each forbidden construct of host C++ with file and line, and ignores comments and strings', () => {
    const file = source('bad.cc', [
      '// comments may say <filesystem>, std::filesystem, concept X = 1, co_await, <=>',
      '#include <filesystem>', // 2
      '#include <span>', // 3
      '#include <format>', // 4
      '#include <string>',
      'struct P { int x; int y; };',
      'P make() { return P{.x = 1, .y = 2}; }', // 7
      'template <typename T> concept Small = sizeof(T) < 8;', // 8
      'auto cmp(int a, int b) { return a <=> b; }', // 9
      'bool dir(const char* p) { return std::filesystem::is_directory(p); }', // 10
      'const char* text = "std::filesystem and <=> in a string are fine";',
      "int big = 1'000'000;",
      'int three() { return 3; }',
    ]);
    const res = lint([file]);
    expect(res.code).toBe(1);
    const lines = res.stdout.trim().split('\n');
    const at = (line: number, what: RegExp) => lines.some((l) => l.startsWith(`${file}:${line}: `) && what.test(l));
    expect(at(2, /<filesystem> is not available with GCC 7/)).toBe(true);
    expect(at(3, /C\+\+20 header.*<span>/)).toBe(true);
    expect(at(4, /C\+\+20 header.*<format>/)).toBe(true);
    expect(at(7, /designated initializer/)).toBe(true);
    expect(at(8, /concept/)).toBe(true);
    expect(at(9, /three-way comparison/)).toBe(true);
    expect(at(10, /std::filesystem is not available/)).toBe(true);
    // comments (line 1), strings (11), digit separators (12) and plain code (13) are not reported
    expect(lines.filter((l) => /:(1|11|12|13): /.test(l))).toEqual([]);
    expect(res.stderr).toMatch(/C\+\+17 without <filesystem>/);
  });

  it('catches C++20 use that only the compiler sees (g++ -std=c++17 -fsyntax-only)', () => {
    const file = source('compile.cc', ['#include <string>', 'bool pre(const std::string& s) { return s.starts_with("x"); }']);
    const res = lint([file]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`${file}:2: g++ -std=c++17:`);
    expect(res.stdout).toMatch(/starts_with/);
  });

  it('holds .cu files to C++14 (CUDA 10.2) and passes clean code', () => {
    const cu = source('kernel.cu', [
      '#include <optional>', // 1
      '__global__ void k(float* p) {',
      '  if constexpr (sizeof(float) == 4) { p[0] = 1; }', // 3
      '}',
      'namespace trt::detail { int z; }', // 5
    ]);
    const res = lint([cu]);
    expect(res.code).toBe(1);
    for (const line of [1, 3, 5]) expect(res.stdout).toMatch(new RegExp(`kernel\\.cu:${line}: C\\+\\+17 .* in CUDA code`));

    const good = source('good.cc', [
      '#include <string>',
      '#include <vector>',
      'int sum(const std::vector<int>& v) { int s = 0; for (int x : v) s += x; return s; }',
    ]);
    const sdk = source('needs-sdk.cpp', ['#include <NvInferMissingHere.h>', 'int g() { return 0; }']);
    const ok = lint([good, sdk]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${sdk}: compile check skipped (NvInferMissingHere.h not installed here)`);
  });

  it('names a path that does not exist (exit 2)', () => {
    const res = lint([join(dir, 'nope')]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe(`lint-native: ${join(dir, 'nope')}: no such file or directory`);
  });

  it.skipIf(!!clangSkip)(needsClang('checks the formatting of files under a .clang-format (clang-format --dry-run --Werror)'), () => {
    const sub = configured('fmt', '.clang-format');
    const ugly = source(join(sub, 'ugly.cc'), ['int three() { return 3; }', 'int  four( ) {return 4;}']);
    const tidy = source(join(sub, 'tidy.h'), ['#pragma once', '', 'inline int five() { return 5; }']);
    const res = lint([ugly, tidy]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`${ugly}:2: clang-format: code should be clang-formatted (run: clang-format -i ${ugly})`);
    expect(res.stdout).not.toMatch(/:1: clang-format/);
    expect(res.stdout).not.toContain(tidy);
    expect(lint([tidy]).code).toBe(0);
  });

  it.skipIf(!!clangSkip)(needsClang('runs clang-tidy with the config above the file on sources that compile'), () => {
    const sub = configured('tidy', '.clang-tidy');
    const copies = source(join(sub, 'copies.cc'), [
      '#include <string>',
      '#include <vector>',
      'size_t total(const std::vector<std::string>& names) {',
      '  size_t n = 0;',
      '  for (const auto s : names) n += s.size();', // 5: a copy per element
      '  return n;',
      '}',
    ]);
    const res = lint([copies]);
    expect(res.code).toBe(1);
    const lines = res.stdout.trim().split('\n');
    expect(lines.some((l) => l.startsWith(`${copies}:5: clang-tidy: `) && l.endsWith('[performance-for-range-copy]'))).toBe(true);
    // the same code outside a folder with a .clang-tidy gets the Jetson rules only
    const plain = source('plain.cc', [
      '#include <string>',
      '#include <vector>',
      'size_t total(const std::vector<std::string>& names) { size_t n = 0; for (const auto s : names) n += s.size(); return n; }',
    ]);
    expect(lint([plain]).code).toBe(0);
  });

  it('names the missing clang tool and its package (exit 2)', () => {
    const sub = configured('fmt-missing', '.clang-format');
    const file = source(join(sub, 'a.cc'), ['int a() { return 1; }']);
    const res = lint([file], { CLANG_FORMAT: join(dir, 'no-such-clang-format') });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('lint-native: clang-format not found: install the Debian/Ubuntu package clang-format');
  });
});
