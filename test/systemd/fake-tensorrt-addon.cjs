'use strict';
/**
 * A stand-in for the addon with a TensorRT part, for the service tests under a real systemd
 * (loaded through TRT_DETECT_ADDON, which daemon/native.ts honours): the real addon for everything
 * else; `tensorrt` reports a Jetson Nano, "builds" an engine slowly (TRT_FAKE_BUILD_SECONDS, writing
 * `<engine>.tmp.<pid>` first and renaming it at the end, as native/src/trt/builder.cc does) and
 * runs the "engine" with ONNX Runtime, so the daemon really detects after the build. TensorRT
 * itself cannot run on these machines; what is under test is the service around a slow build.
 */
const { readFileSync, renameSync, writeFileSync } = require('fs');

const real = require(process.env.TRT_FAKE_REAL_ADDON || '/opt/trt-detect/build/native/Release/trt_detect.node');
const ort = require(process.env.TRT_FAKE_ORT || '/opt/trt-detect/node_modules/onnxruntime-node');
const BUILD_SECONDS = Number(process.env.TRT_FAKE_BUILD_SECONDS || 20);

const device = {
  tensorrtVersion: '8.2.1',
  compiledVersion: '8.2.1',
  gpuName: 'Fake Tegra X1',
  computeCapability: '5.3',
  totalMemory: 4e9,
  fastFp16: true,
  fastInt8: false,
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dims = (shape) => shape.map((d) => (typeof d === 'number' ? d : -1));

async function tensorsOf(onnxPath) {
  const s = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 1 });
  const list = [
    ...s.inputMetadata.map((m) => ({ name: m.name, input: true, shape: dims(m.shape) })),
    ...s.outputMetadata.map((m) => ({ name: m.name, input: false, shape: dims(m.shape) })),
  ];
  return { session: s, list };
}

module.exports = {
  ...real,
  info: { ...real.info, tensorrt: true },
  tensorrt: {
    compiledVersion: '8.2.1',
    deviceInfo: async () => device,
    inspectOnnx: async (path) => (await tensorsOf(path)).list,
    buildEngine: async (o, onProgress) => {
      const tmp = `${o.enginePath}.tmp.${process.pid}`;
      writeFileSync(tmp, 'a partial engine');
      for (let s = 0; s < BUILD_SECONDS; s += 5) {
        if (onProgress) onProgress(`fake build: ${s} of ${BUILD_SECONDS} s`);
        await sleep(Math.min(5, BUILD_SECONDS - s) * 1000);
      }
      const bytes = Buffer.from(JSON.stringify({ fake: true, onnx: o.onnxPath }));
      writeFileSync(tmp, bytes);
      renameSync(tmp, o.enginePath);
      return { precision: o.precision, engineBytes: bytes.length, seconds: BUILD_SECONDS, calibrationBatches: 0, warnings: [] };
    },
    openEngine: async (path) => {
      const { onnx } = JSON.parse(readFileSync(path, 'utf8'));
      const { session, list } = await tensorsOf(onnx);
      const tensors = list.map((t) => ({ ...t, type: 'float32', elements: t.shape.reduce((a, b) => a * b, 1) }));
      return { handle: { session, tensors }, tensors, gpuPreprocess: false, deviceMemoryBytes: 0 };
    },
    // the one call per frame of native/src/trt (daemon/detect/tensorrt-addon.ts): pre-processing and
    // the decode + NMS are the real addon's, the network is ONNX Runtime's
    detect: async (h, frame, width, height, format, spec, layout, options) => {
      const input = new Float32Array(3 * spec.width * spec.height);
      const t = await real.preprocess(frame, width, height, spec, input, format);
      const inName = h.tensors.find((x) => x.input).name;
      const r = await h.session.run({ [inName]: new ort.Tensor('float32', input, [1, 3, spec.height, spec.width]) });
      const outs = h.tensors.filter((x) => !x.input).map((x) => r[x.name].data);
      // with options.appearance the real addon adds each box's appearance feature from the frame
      const decodeOptions = { ...options, inputWidth: spec.width, inputHeight: spec.height, srcWidth: width, srcHeight: height, transform: t };
      const detections = options.appearance
        ? real.decodeSync(outs, layout, decodeOptions, frame, width, height, format)
        : real.decodeSync(outs, layout, decodeOptions);
      return { ...t, detections, preprocessMs: 0, inferenceMs: 1, postprocessMs: 0, gpuDecode: false, slot: 0 };
    },
    closeEngine: async (h) => {
      await h.session.release();
    },
  },
};
