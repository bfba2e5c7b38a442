/**
 * The TensorRT backend around the engine: engine cache and staleness, precision fallback, INT8
 * calibration data, layout handling and post-processing. TensorRT itself cannot run on the test
 * machines, so the addon's `tensorrt` functions are replaced by a stand-in that behaves like them
 * at the boundary (writes/reads engine files, fills the output tensors) and pre-processes with the
 * real addon; everything on the TypeScript side and the shared post-processing is real.
 */
import { existsSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDetector } from '../../daemon/detect/open.js';
import { TensorRtDetector, ensureEngine } from '../../daemon/detect/tensorrt-backend.js';
import type {
  EngineHandle,
  OpenedEngine,
  TensorRtAddon,
  TensorRtBuildOptions,
  TensorRtDeviceInfo,
  TensorRtTensor,
} from '../../daemon/detect/tensorrt-addon.js';
import { readSidecar, sidecarPath } from '../../daemon/detect/tensorrt-engine-cache.js';
import type { Frame, PixelFormat } from '../../daemon/core/frame.js';
import { ConfigError } from '../../daemon/core/errors.js';
import { writeImage } from '../../daemon/media/image-io.js';
import * as native from '../../daemon/native.js';
import { buildConstantModel, type ConstantOutput } from '../support/onnx-writer.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('trt-backend');
afterAll(cleanup);

const W = 64;
const H = 32;
const NANO: TensorRtDeviceInfo = {
  tensorrtVersion: '8.2.1',
  compiledVersion: '8.2.1',
  gpuName: 'NVIDIA Tegra X1',
  computeCapability: '5.3',
  totalMemory: 4e9,
  fastFp16: true,
  fastInt8: false,
};
const ORIN: TensorRtDeviceInfo = {
  tensorrtVersion: '8.5.2',
  compiledVersion: '8.5.2',
  gpuName: 'Orin',
  computeCapability: '8.7',
  totalMemory: 8e9,
  fastFp16: true,
  fastInt8: true,
};
const opts = { threshold: 0.5, nmsIou: 0.45, topK: 100, classes: [] as number[] };
const frame = (w = 200, h = 100): Frame => ({ data: Buffer.alloc(w * h * 3, 90), width: w, height: h, index: 0, pts: 0 });

/** Stands in for exports.tensorrt: engines are files holding a tag and the output tensors. */
class StandIn implements TensorRtAddon {
  compiledVersion = '8.2.1';
  builds: Array<TensorRtBuildOptions & { calibrationBytes: number[]; firstTensor: Float32Array | null }> = [];
  opened = 0;
  closed = 0;
  constructor(
    public device: TensorRtDeviceInfo,
    public outputs: Array<TensorRtTensor & { data: number[] }>,
    public inputShape: number[] = [1, 3, H, W],
  ) {}

  async deviceInfo() {
    return this.device;
  }
  async inspectOnnx(path: string) {
    if (!readFileSync(path).length) throw new Error(`${path}: not an ONNX model TensorRT can parse: empty file`);
    return [{ name: 'input', input: true, shape: this.inputShape }, ...this.outputs.map((o) => ({ name: o.name, input: false, shape: o.shape }))];
  }
  async buildEngine(o: TensorRtBuildOptions, onProgress?: (line: string) => void) {
    // the calibration tensors must exist while TensorRT calibrates
    const calibrationBytes = (o.calibrationFiles ?? []).map((f) => readFileSync(f).length);
    const first = o.calibrationFiles?.[0];
    const firstTensor = first ? new Float32Array(new Uint8Array(readFileSync(first)).buffer) : null;
    this.builds.push({ ...o, calibrationBytes, firstTensor });
    onProgress?.('building: 15 s elapsed');
    const bytes = Buffer.from(JSON.stringify({ standin: true, precision: o.precision, outputs: this.outputs }));
    writeFileSync(o.enginePath, bytes);
    return { precision: o.precision, engineBytes: bytes.length, seconds: 1, calibrationBatches: calibrationBytes.length, warnings: [] };
  }
  async openEngine(path: string): Promise<OpenedEngine> {
    let parsed: { standin?: boolean; outputs?: Array<TensorRtTensor & { data: number[] }> } = {};
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      /* below */
    }
    if (!parsed.standin || !parsed.outputs)
      throw new Error(`${path}: TensorRT 8.2.1 cannot load this engine (built with another TensorRT version or GPU, or not an engine)`);
    this.opened++;
    const tensors: TensorRtTensor[] = [
      { name: 'input', input: true, shape: [1, 3, H, W], type: 'float32', elements: 3 * H * W },
      ...parsed.outputs.map(({ data: _d, ...t }) => t),
    ];
    this.engineOutputs = parsed.outputs;
    return { handle: {} as EngineHandle, tensors, gpuPreprocess: false, deviceMemoryBytes: 0 };
  }
  private engineOutputs: Array<TensorRtTensor & { data: number[] }> = [];
  /** the most calls in detect at once (the backend keeps at most TENSORRT_SLOTS) */
  maxInFlight = 0;
  private inFlight = 0;
  async detect(
    _h: EngineHandle,
    frameData: Uint8Array,
    width: number,
    height: number,
    format: PixelFormat | undefined,
    spec: native.PreprocessSpec,
    layout: native.NativeLayout,
    options: native.DecodeOptions,
  ) {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      // the addon's own pre- and post-processing around the stand-in's constant outputs, as the engine runs them
      const t = await native.preprocess(
        Buffer.from(frameData.buffer, frameData.byteOffset, frameData.byteLength),
        width,
        height,
        spec,
        new Float32Array(3 * spec.width * spec.height),
        format,
      );
      await new Promise((r) => setTimeout(r, 5)); // the GPU's time: lets a second call overlap
      const outs = this.engineOutputs.map((o) => (o.type === 'int32' ? Int32Array.from(o.data) : Float32Array.from(o.data)));
      // with options.appearance the addon adds each box's appearance feature from the host frame
      const detections = native.decodeSync(
        outs,
        layout,
        { ...options, inputWidth: spec.width, inputHeight: spec.height, srcWidth: width, srcHeight: height, transform: t },
        { data: frameData, width, height, format },
      );
      return { ...t, detections, preprocessMs: 0.5, inferenceMs: 1.5, postprocessMs: 0.25, gpuDecode: false, slot: 0 };
    } finally {
      this.inFlight--;
    }
  }
  async closeEngine() {
    this.closed++;
  }
}

const tensor = (o: ConstantOutput): TensorRtTensor & { data: number[] } => ({
  name: o.name,
  input: false,
  shape: o.dims,
  type: o.dtype === 'float32' ? 'float32' : 'int32',
  elements: o.dims.reduce((a, b) => a * b, 1),
  data: o.data,
});

function onnxModel(name: string, outputs: ConstantOutput[], labels: string[]): string {
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, buildConstantModel({ inputName: 'input', inputShape: [1, 3, H, W], outputs }));
  writeFileSync(join(dir, `${name}.labels.txt`), `${labels.join('\n')}\n`);
  return file;
}

const SCORES_BOXES: ConstantOutput[] = [
  { name: 'scores', dims: [1, 3, 3], dtype: 'float32', data: [0.1, 0.9, 0.0, 0.2, 0.8, 0.0, 0.3, 0.0, 0.7] },
  { name: 'boxes', dims: [1, 3, 4], dtype: 'float32', data: [0.1, 0.1, 0.5, 0.5, 0.12, 0.1, 0.5, 0.52, 0.6, 0.2, 0.9, 1.2] },
];

describe('TensorRT backend (stand-in TensorRT, real addon pre/post-processing)', () => {
  it('builds an engine from ONNX once, caches it beside the model, and detects exactly what ONNX Runtime detects', async () => {
    const model = onnxModel('sb', SCORES_BOXES, ['background', 'car', 'person']);
    const trt = new StandIn(NANO, SCORES_BOXES.map(tensor));
    const logs: string[] = [];
    const progress: string[] = [];
    const det = await TensorRtDetector.open({
      modelPath: model,
      precision: 'fp16',
      addon: trt,
      log: (l, m) => logs.push(`${l}: ${m}`),
      onProgress: (l) => progress.push(l),
    });
    expect(trt.builds).toHaveLength(1);
    expect(trt.builds[0]).toMatchObject({
      onnxPath: model,
      enginePath: join(dir, 'sb.fp16.engine'),
      precision: 'fp16',
      calibrationFiles: [],
      timingCache: join(dir, 'tensorrt.timing.cache'),
    });
    expect(progress).toContain('building: 15 s elapsed');
    expect(det.info).toMatchObject({
      backend: 'tensorrt',
      path: model,
      inputWidth: W,
      inputHeight: H,
      layout: 'scores_boxes',
      labels: ['background', 'car', 'person'],
    });
    const sidecar = await readSidecar(join(dir, 'sb.fp16.engine'));
    expect(sidecar).toMatchObject({
      tensorrt: '8.2.1',
      gpu: 'NVIDIA Tegra X1',
      compute_capability: '5.3',
      precision: 'fp16',
      input: 'model',
      input_shape: [1, 3, H, W],
    });

    const viaTrt = await det.infer(frame(), opts);
    const ort = await openDetector({ modelPath: model, backend: 'onnxruntime' });
    const viaOrt = await ort.infer(frame(), opts);
    expect(viaTrt.detections.length).toBeGreaterThan(0);
    expect(viaTrt.detections).toEqual(viaOrt.detections);
    expect(viaTrt.timings).toEqual({ preprocess_ms: 0.5, inference_ms: 1.5, postprocess_ms: 0.25 });
    // the tracker's appearance features (DetectOptions.appearance) through both backends: the same
    const appTrt = await det.infer(frame(), { ...opts, appearance: true });
    const appOrt = await ort.infer(frame(), { ...opts, appearance: true });
    expect(appTrt.detections.every((d) => d.appearance instanceof Float32Array && d.appearance.length === 128)).toBe(true);
    expect(appTrt.detections).toEqual(appOrt.detections);
    expect(viaTrt.detections.some((d) => 'appearance' in d)).toBe(false);
    await ort.close();
    await det.close();
    await det.close(); // twice is harmless
    expect(trt.closed).toBe(1);

    // second start: the cached engine, no build
    const again = await TensorRtDetector.open({ modelPath: model, precision: 'fp16', addon: trt, log: (l, m) => logs.push(`${l}: ${m}`) });
    expect(trt.builds).toHaveLength(1);
    expect(logs.some((l) => l.startsWith('info: ') && l.includes('using the cached TensorRT engine'))).toBe(true);
    await again.close();
  });

  it('rebuilds a stale engine: new model bytes, a TensorRT upgrade, a truncated file', async () => {
    const model = onnxModel('stale', SCORES_BOXES, ['background', 'car', 'person']);
    const trt = new StandIn(NANO, SCORES_BOXES.map(tensor));
    const logs: string[] = [];
    const log = (_l: string, m: string) => logs.push(m);
    await ensureEngine(model, { modelPath: model, precision: 'fp32', addon: trt, log });
    expect(trt.builds).toHaveLength(1);
    expect((await ensureEngine(model, { modelPath: model, precision: 'fp32', addon: trt, log })).cached).toBe(true);

    trt.device = { ...NANO, tensorrtVersion: '8.2.3' };
    expect((await ensureEngine(model, { modelPath: model, precision: 'fp32', addon: trt, log })).cached).toBe(false);
    expect(logs.at(-2)).toMatch(/rebuilding the engine: TensorRT "8\.2\.1" \(this host: "8\.2\.3"\)/);

    writeFileSync(model, buildConstantModel({ inputName: 'input', inputShape: [1, 3, H, W], outputs: [SCORES_BOXES[1], SCORES_BOXES[0]] }));
    expect((await ensureEngine(model, { modelPath: model, precision: 'fp32', addon: trt, log })).cached).toBe(false);
    expect(logs.some((m) => m.includes('the model changed since the engine was built'))).toBe(true);

    writeFileSync(join(dir, 'stale.fp32.engine'), 'cut');
    expect((await ensureEngine(model, { modelPath: model, precision: 'fp32', addon: trt, log })).cached).toBe(false);
    expect(trt.builds).toHaveLength(4);
  });

  it('a build killed midway leaves <engine>.tmp.<pid>: the next build removes it (not one of a live process), and says so; onBuilding brackets the build', async () => {
    const model = onnxModel('partial', SCORES_BOXES, ['background', 'car', 'person']);
    const trt = new StandIn(NANO, SCORES_BOXES.map(tensor));
    const engine = join(dir, 'partial.fp16.engine');
    // a pid no process has (above pid_max), and this process's parent, which is alive
    const dead = `${engine}.tmp.4194999`;
    const live = `${engine}.tmp.${process.ppid}`;
    writeFileSync(dead, 'half an engine');
    writeFileSync(live, 'another build still running');
    const logs: string[] = [];
    const building: boolean[] = [];
    const out = await ensureEngine(model, {
      modelPath: model,
      precision: 'fp16',
      addon: trt,
      log: (_l, m) => logs.push(m),
      onBuilding: (b) => building.push(b),
    });
    expect(out.cached).toBe(false);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(logs).toContain(`${dead}: removed the partial engine of a build that did not finish (a restart or crash during the build)`);
    expect(building).toEqual([true, false]);
    // a cached engine builds nothing: no onBuilding at all; a failed build still ends with false
    building.length = 0;
    await ensureEngine(model, { modelPath: model, precision: 'fp16', addon: trt, onBuilding: (b) => building.push(b) });
    expect(building).toEqual([]);
    trt.buildEngine = () => Promise.reject(new Error('out of memory while building'));
    await expect(ensureEngine(model, { modelPath: model, precision: 'fp16', addon: trt, rebuild: true, onBuilding: (b) => building.push(b) })).rejects.toThrow(
      'out of memory while building',
    );
    expect(building).toEqual([true, false]);
    unlinkSync(live);
  });

  it('int8 on a Jetson Nano builds fp16 with one warning; strict_precision refuses (exit 2)', async () => {
    const model = onnxModel('nano', SCORES_BOXES, ['background', 'car', 'person']);
    const trt = new StandIn(NANO, SCORES_BOXES.map(tensor));
    const warnings: string[] = [];
    const out = await ensureEngine(model, { modelPath: model, precision: 'int8', addon: trt, log: (l, m) => l === 'warn' && warnings.push(m) });
    expect(out).toMatchObject({ precision: 'fp16', enginePath: join(dir, 'nano.fp16.engine') });
    expect(out.sidecar.requested_precision).toBe('int8');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('has no fast INT8: building fp16 instead of int8');
    const err = await TensorRtDetector.open({ modelPath: model, precision: 'int8', strictPrecision: true, addon: trt }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/strict_precision/);
  });

  it('int8 calibration: every image pre-processed like a frame into one tensor file, removed after the build; a cache skips them', async () => {
    const model = onnxModel('cal', SCORES_BOXES, ['background', 'car', 'person']);
    const images = join(dir, 'calib');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(images, 'recordings'), { recursive: true });
    const sizes = [
      [120, 80],
      [33, 17],
      [64, 32],
    ];
    for (const [i, [w, h]] of sizes.entries()) {
      const rgb = Buffer.alloc(w * h * 3);
      for (let k = 0; k < rgb.length; k++) rgb[k] = (k * (i + 3)) % 251;
      await writeImage(join(images, i === 2 ? 'recordings' : '.', `img${i}.png`), rgb, w, h);
    }
    const trt = new StandIn(ORIN, SCORES_BOXES.map(tensor));
    const cache = join(dir, 'cal.calib.cache');
    const input = {
      color: 'bgr' as const,
      mean: [0.4, 0.5, 0.6] as [number, number, number],
      std: [0.2, 0.3, 0.4] as [number, number, number],
      resize: 'letterbox' as const,
      width: null,
      height: null,
    };
    await ensureEngine(model, { modelPath: model, precision: 'int8', input, calibration: { images, cache }, addon: trt });
    const b = trt.builds[0];
    expect(b.precision).toBe('int8');
    expect(b.calibrationCache).toBe(cache);
    expect(b.calibrationBytes).toEqual([3 * W * H * 4, 3 * W * H * 4, 3 * W * H * 4]);
    const first = Buffer.alloc(120 * 80 * 3);
    for (let k = 0; k < first.length; k++) first[k] = (k * 3) % 251;
    const expected = new Float32Array(3 * W * H);
    await native.preprocess(first, 120, 80, { color: input.color, mean: input.mean, std: input.std, resize: input.resize, width: W, height: H }, expected);
    expect(b.firstTensor).toEqual(expected);
    for (const f of b.calibrationFiles ?? []) expect(existsSync(f)).toBe(false);

    writeFileSync(cache, 'TRT-8201-EntropyCalibration2\n'); // as TensorRT (or TAO) wrote it
    await ensureEngine(model, { modelPath: model, precision: 'int8', input, calibration: { images: join(dir, 'nowhere'), cache }, addon: trt, rebuild: true });
    expect(trt.builds[1]).toMatchObject({ calibrationFiles: [], calibrationCache: cache });

    const none = await ensureEngine(model, {
      modelPath: model,
      precision: 'int8',
      calibration: { images: join(dir, 'nowhere'), cache: join(dir, 'no.cache') },
      addon: trt,
      rebuild: true,
    }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ConfigError);
    expect((none as ConfigError).message).toMatch(/calibration folder not found/);
  });

  it('an ONNX input with dynamic H/W is built at model.input.width/height; without them one ConfigError', async () => {
    const model = onnxModel('dyn', SCORES_BOXES, ['background', 'car', 'person']);
    const trt = new StandIn(ORIN, SCORES_BOXES.map(tensor), [-1, 3, -1, -1]);
    const input = {
      color: 'rgb' as const,
      mean: [0.5, 0.5, 0.5] as [number, number, number],
      std: [0.5, 0.5, 0.5] as [number, number, number],
      resize: 'stretch' as const,
      width: W,
      height: H,
    };
    const out = await ensureEngine(model, { modelPath: model, precision: 'fp16', input, addon: trt });
    expect(trt.builds[0]).toMatchObject({ inputWidth: W, inputHeight: H });
    expect(out.sidecar).toMatchObject({ input: `${W}x${H}`, input_shape: [1, 3, H, W] });
    const err = await ensureEngine(model, { modelPath: model, precision: 'fp16', addon: trt, rebuild: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(`${model}: input input has a dynamic size [-1,3,-1,-1] (set model.input.width and model.input.height)`);
  });

  it('double buffering: calls overlap two at a time in the engine, never more, and resolve in call order', async () => {
    const model = onnxModel('db', SCORES_BOXES, ['background', 'car', 'person']);
    const trt = new StandIn(NANO, SCORES_BOXES.map(tensor));
    const det = await TensorRtDetector.open({ modelPath: model, precision: 'fp16', addon: trt });
    const widths = [100, 200, 300, 400, 500, 600];
    const order: number[] = [];
    const results = await Promise.all(widths.map((w) => det.infer(frame(w, 100), opts).then((r) => (order.push(w), r))));
    expect(trt.maxInFlight).toBe(2);
    expect(order).toEqual(widths);
    // the same boxes scaled with each frame's width: each result is its own frame's
    results.forEach((r, i) => expect(r.detections[0].box.x2 / widths[i]).toBeCloseTo(results[0].detections[0].box.x2 / widths[0], 6));
    await det.close();
    expect(trt.closed).toBe(1);
  });

  it('a TAO/tlt-converter engine (nms7 + int32 keep count) given directly: boxes in source pixels, background never reported', async () => {
    const rows = [0, 1, 0.95, 0.1, 0.2, 0.5, 0.6, 0, 2, 0.85, 0.5, 0.5, 1.1, 0.9, 0, 0, 0.99, 0, 0, 1, 1, 0, 1, 0.2, 0.1, 0.1, 0.2, 0.2];
    const outputs = [
      { name: 'NMS', input: false, shape: [1, 1, 4, 7], type: 'float32' as const, elements: 28, data: rows },
      { name: 'NMS_1', input: false, shape: [1, 1, 1, 1], type: 'int32' as const, elements: 1, data: [3] },
    ];
    const trt = new StandIn(NANO, outputs);
    const enginePath = join(dir, 'tao.engine');
    writeFileSync(enginePath, JSON.stringify({ standin: true, outputs }));
    writeFileSync(join(dir, 'tao.labels.txt'), 'background\ncar\nperson\n');
    const det = await TensorRtDetector.open({ modelPath: enginePath, addon: trt });
    expect(det.info).toMatchObject({ layout: 'nms7', outputNames: ['NMS', 'NMS_1'], labels: ['background', 'car', 'person'] });
    const r = await det.infer(frame(200, 100), opts);
    // keep count 3: row 3 (score 0.2) is beyond it anyway; row 2 is background
    expect(r.detections).toEqual([
      { label: 'car', class_id: 1, score: 0.95, box: { x1: 20, y1: 20, x2: 100, y2: 60 } },
      { label: 'person', class_id: 2, score: 0.85, box: { x1: 100, y1: 50, x2: 200, y2: 90 } },
    ]);
    await det.close();
  });

  it('an engine whose sidecar names another TensorRT/GPU is refused before loading; junk is one clear error', async () => {
    const trt = new StandIn(NANO, SCORES_BOXES.map(tensor));
    const model = onnxModel('foreign', SCORES_BOXES, ['background', 'car', 'person']);
    const built = await ensureEngine(model, { modelPath: model, precision: 'fp16', addon: trt });
    trt.device = ORIN;
    const err = await TensorRtDetector.open({ modelPath: built.enginePath, addon: trt }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      `${built.enginePath}: this engine cannot run here: built with TensorRT 8.2.1, this host has 8.5.2; built for NVIDIA Tegra X1 (sm 5.3), this host has Orin (sm 8.7) (rebuild it on this device: trt-detect build-engine -m MODEL.onnx)`,
    );
    expect(trt.opened).toBe(0);
    const junk = join(dir, 'junk.plan');
    writeFileSync(junk, 'not an engine');
    const e2 = await TensorRtDetector.open({ modelPath: junk, addon: trt }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ConfigError);
    expect((e2 as ConfigError).message).toMatch(/junk\.plan: TensorRT 8\.2\.1 cannot load this engine/);
    expect(existsSync(sidecarPath(junk))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
