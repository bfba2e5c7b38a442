import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bindLayout } from '../../daemon/detect/layouts.js';
import { backgroundIds, classIdsFor, labelFileFor, resolveLabels } from '../../daemon/detect/labels.js';

describe('bindLayout', () => {
  it('recognises the PyTorch SSD scores/boxes outputs', () => {
    expect(bindLayout('m.onnx', [{ name: 'scores', shape: [1, 3000, 5] }, { name: 'boxes', shape: [1, 3000, 4] }], 'auto')).toEqual({
      layout: 'scores_boxes', scores: 'scores', boxes: 'boxes', numBoxes: 3000, numClasses: 5,
    });
  });

  it('recognises scores/boxes by shape when names are generic', () => {
    const b = bindLayout('m.onnx', [{ name: 'output_1', shape: [1, 100, 4] }, { name: 'output_0', shape: [1, 100, 21] }], 'auto');
    expect(b).toMatchObject({ layout: 'scores_boxes', scores: 'output_0', boxes: 'output_1', numClasses: 21 });
  });

  it('recognises the TensorRT NMS plugin (nms7) outputs with keep count', () => {
    expect(bindLayout('m.onnx', [{ name: 'NMS', shape: [1, 1, 200, 7] }, { name: 'NMS_1', shape: [1, 1, 1, 1] }], 'auto')).toEqual({
      layout: 'nms7', detections: 'NMS', keepCount: 'NMS_1', count: 200,
    });
  });

  it('recognises EfficientNMS outputs', () => {
    const outs = [
      { name: 'num_dets', shape: [1, 1] },
      { name: 'det_boxes', shape: [1, 100, 4] },
      { name: 'det_scores', shape: [1, 100] },
      { name: 'det_classes', shape: [1, 100] },
    ];
    expect(bindLayout('m.onnx', outs, 'auto')).toEqual({ layout: 'efficient_nms', numDets: 'num_dets', boxes: 'det_boxes', scores: 'det_scores', classes: 'det_classes', maxDets: 100 });
  });

  it('rejects outputs that fit no layout with one line naming them', () => {
    expect(() => bindLayout('cls.onnx', [{ name: 'logits', shape: [1, 1000] }], 'auto')).toThrow(
      'cls.onnx: unsupported model outputs logits[1,1000] (expected an SSD with scores_boxes, nms7 or efficient_nms outputs; see README "Models")',
    );
  });

  it('rejects a requested layout the outputs do not match', () => {
    expect(() => bindLayout('m.onnx', [{ name: 'scores', shape: [1, 10, 5] }, { name: 'boxes', shape: [1, 10, 4] }], 'nms7')).toThrow(/do not match model.layout "nms7"/);
  });
});

describe('labels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trt-labels-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads <model>.labels.txt beside the model', () => {
    const model = join(dir, 'ssd.onnx');
    expect(labelFileFor(model)).toBe(join(dir, 'ssd.labels.txt'));
    writeFileSync(join(dir, 'ssd.labels.txt'), 'background\nvehicle\r\nperson\n');
    expect(resolveLabels(model, null, 3)).toEqual(['background', 'vehicle', 'person']);
    expect(resolveLabels(model, ['a', 'b'], 2)).toEqual(['a', 'b']);
    expect(resolveLabels(join(dir, 'other.onnx'), null, 2)).toEqual(['class_0', 'class_1']);
  });

  it('finds background ids and maps class names', () => {
    expect(backgroundIds(['Background', 'car', 'BACKGROUND'], 'nms7')).toEqual([0, 2]);
    expect(backgroundIds(['car', 'bus'], 'efficient_nms')).toEqual([]);
    // scores_boxes: class 0 is the background by the layout's definition, whatever it is called
    expect(backgroundIds(['bg', 'sign', 'BackGround'], 'scores_boxes')).toEqual([0, 2]);
    expect(backgroundIds(['class_0', 'class_1'], 'scores_boxes')).toEqual([0]);
    expect(classIdsFor(['vehicle', 3, '1'], ['background', 'vehicle', 'x', 'y'])).toEqual([1, 3, 1]);
    expect(() => classIdsFor(['truck'], ['background', 'vehicle'])).toThrow('detect.classes: unknown class "truck" (the model\'s labels are background, vehicle)');
  });
});
