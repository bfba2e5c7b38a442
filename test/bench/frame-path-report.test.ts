/**
 * scripts/frame-path-report.mjs: FRAME-PATH.md from the frame-path section's JSON files. Every
 * output mode the bench reports gets its row (a mode added later, such as raw recording, too),
 * before and after rounds are listed in order with their means, the memory step with its verdict
 * and the live viewer; missing parts are said to be missing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

interface ReportModule {
  buildFramePathReport(dataDir: string, outDir: string): string;
  outputModes(outputs: unknown): Array<{ key: string; label: string }>;
}
const report = (await import(pathToFileURL(join(ROOT, 'scripts', 'frame-path-report.mjs')).href)) as ReportModule;

const { dir, cleanup } = tempDir('frame-path-report');
afterAll(cleanup);

const machine = { cpu_model: 'Test CPU', cores: 2, memory_gb: 8, os: 'Linux', arch: 'x64', device_model: null, node: 'v20', onnxruntime: '1.23.2', ffmpeg: '5.1' };
const run = (cpu: number, fps: number) => ({ fps, cpu_ms_per_frame: cpu, encode_ms: 2, frames: 100, cpu_percent: (cpu * fps) / 10 });
const benchRun = (infer: number, fps: number) => ({
  fps,
  inference_fps: 20,
  cpu_ms_per_frame: 50,
  seconds: 5,
  model: '/x/models/ssdlite-mobilenet-v2-coco.onnx',
  input: { file: '/tmp/in720.mp4', width: 1280, height: 720, fps: 25 },
  stages: { inference: { mean_ms: infer }, preprocess: { mean_ms: 4 }, postprocess: { mean_ms: 1 } },
  inference_only: { stages: { inference: { mean_ms: infer - 1 } } },
  machine,
});
const memory = (max: number, slope: number) => ({
  memory: {
    minutes: 15,
    every_s: 5,
    input: '/tmp/in1080.mp4',
    samples: [
      { t_s: 0, rss_mb: 200, heap_used_mb: 10, array_buffers_mb: 50 },
      { t_s: 400, rss_mb: max - 5, heap_used_mb: 20, array_buffers_mb: 80 },
      { t_s: 800, rss_mb: max, heap_used_mb: 22, array_buffers_mb: 85 },
    ],
    trend: { min_mb: max - 10, max_mb: max, slope_mb_per_min: slope, slope_ci95_mb_per_min: 0.5, block_s: 50, minute_peaks_mb: [max - 2, max] },
    max_rss_mb: max,
    max_children_rss_mb: 250,
    frames: 9000,
    viewer_running: true,
    viewer_exits: [],
    parts: ['one camera', 'recording', '1 live viewer (web UI WebSocket)'],
    live_viewer: { connections: 2, logins: 1, messages: 9003, text_messages: 2, init_segments: 2, fragments: 8999, bad_messages: 0, bytes: 300 * 1048576, drops: ['400s: closed 4000 the stream restarted'] },
  },
  machine,
});

describe('frame-path report', () => {
  it('orders the known output modes and keeps any other one', () => {
    const modes = report.outputModes({ raw: run(1, 1), all: run(1, 1), record: run(1, 1), two_encodes: run(1, 1), all_vs_record: 1.02, newmode_x: run(1, 1) });
    expect(modes.map((m) => m.key)).toEqual(['record', 'all', 'two_encodes', 'raw', 'newmode_x']);
    expect(modes[4].label).toBe('newmode x');
  });

  it('writes every part beside its before, with a raw row the outputs gained', () => {
    const data = join(dir, 'data');
    mkdirSync(data, { recursive: true });
    const w = (name: string, v: unknown) => writeFileSync(join(data, name), JSON.stringify(v));
    w('frame-outputs.json', {
      ...benchRun(50, 20),
      interval: 0,
      outputs: { record: run(40, 20), all: run(42, 20), two_encodes: run(50, 18), raw: run(30, 25), all_vs_record: 1.05, two_encodes_vs_record: 1.25 },
    });
    w('frame-before-1.json', benchRun(60, 15));
    w('frame-after-1.json', benchRun(50, 20));
    w('frame-before-2.json', benchRun(62, 14));
    w('frame-after-2.json', benchRun(48, 21));
    const mem = memory(350, 0.1);
    w('frame-memory.json', {
      ...mem,
      memory: {
        ...mem.memory,
        parts_trend: {
          anon: { min_mb: 250, max_mb: 255.5, slope_mb_per_min: 0.02, slope_ci95_mb_per_min: 0.1, growth_mb: 0.2 },
          file: { min_mb: 90, max_mb: 94.5, slope_mb_per_min: 0.3, slope_ci95_mb_per_min: 0.05, growth_mb: 3 },
        },
      },
    });
    w('memory-before-fix.json', { ...memory(401.8, 1.4), label: 'main before the snapshot fix', date: '2026-12-07T15:00:00Z' });
    w('memory-before-arenas.json', { ...memory(360.5, 0.9), label: 'main before the arena cap', date: '2026-12-07T20:00:00Z' });
    w('frame-revs.json', { before: { commit: 'abcdef1234', subject: 'Restore things' }, after: { commit: '1234567890', subject: 'x', dirty: false } });
    w('meta.json', { runs: { 'frame-path': { command: 'scripts/bench --only frame-path', date: '2026-12-07T16:45:00Z', load_at_start: '3.1 2 1', load_at_end: '4 3 2' } } });
    writeFileSync(join(data, 'frame-load.txt'), '1 3.5 2 1\n31 4.5 2 1\n');
    const md = readFileSync(report.buildFramePathReport(data, dir), 'utf8');
    expect(md).toContain('Machine: Test CPU, 2 cores');
    expect(md).toContain('Load over the run (1-minute load average every 30 s, 2 readings): 3.50 to 4.50, mean 4.00 on 2 cores');
    expect(md).toMatch(/\| recording alone \| 40\.0 \| 1 \|/);
    expect(md).toMatch(/\| recording \+ RTSP out \(one client\) \+ one live viewer, one encode \| 42\.0 \| 1\.05 \|/);
    expect(md).toMatch(/second encoder .* \(before\) \| 50\.0 \| 1\.25 \|/);
    expect(md).toMatch(/\| recording raw \(stream copy[^|]*\| 30\.0 \| 0\.75 \|/);
    expect(md).toMatch(/\| before 1 \| 60\.0 \|[\s\S]*\| after 1 \| 50\.0 \|[\s\S]*\| before 2 \| 62\.0 \|[\s\S]*\| after 2 \| 48\.0 \|/);
    expect(md).toMatch(/\| \*\*before, mean\*\* \| 61\.0 \|/);
    expect(md).toMatch(/\| \*\*after, mean\*\* \| 49\.0 \|/);
    expect(md).toContain('inference 61.0 → 49.0 ms (-20%), end-to-end 14.5 → 20.5 FPS (+41%)');
    expect(md).toContain('`abcdef1`');
    expect(md).toMatch(/\| before \(main before the snapshot fix, 15 min\) \| 391\.8\.\.401\.8 MB \| 401\.8 MB \| 1\.40 ± 0\.50 MB\/min \|/);
    // every memory-before-*.json, oldest first
    expect(md).toMatch(/\| before \(main before the snapshot fix, 15 min\)[^\n]*\n\| before \(main before the arena cap, 15 min\) \| 350\.5\.\.360\.5 MB[^\n]*\n\| this run/);
    expect(md).toMatch(/\| this run \(15 min\) \| 340\.0\.\.350\.0 MB \| 350\.0 MB \| 0\.10 ± 0\.50 MB\/min \|/);
    expect(md).toContain('under 400 MB; slope not significantly above 0 (flat)');
    expect(md).toMatch(/anonymous memory \([^)]*\) 250\.0\.\.255\.5 MB, slope 0\.02 ± 0\.10 MB\/min; file-backed pages \([^)]*\) 90\.0\.\.94\.5 MB, slope 0\.30 ± 0\.05 MB\/min/);
    expect(md).toContain('read 8999 fragments (2 init segments, 9003 messages, 300.0 MB) in 2 connections, dropped 1 time(s)');
  });

  it('says which parts are missing', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const md = readFileSync(report.buildFramePathReport(empty, empty), 'utf8');
    expect(md).toContain('Not measured in this run (frame-outputs.json missing).');
    expect(md).toContain('Not measured in this run (frame-memory.json missing).');
  });
});
