import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bindLayout } from '../../daemon/detect/layouts.js';
import { classIdsFor, labelFileFor, modelClasses, reportedLabels, resolveLabels } from '../../daemon/detect/labels.js';
import type { LayoutBinding } from '../../daemon/detect/layouts.js';
import { registryModel } from '../../daemon/models/registry.js';

describe('bindLayout', () => {
  it('recognises the PyTorch SSD scores/boxes outputs', () => {
    expect(
      bindLayout(
        'm.onnx',
        [
          { name: 'scores', shape: [1, 3000, 5] },
          { name: 'boxes', shape: [1, 3000, 4] },
        ],
        'auto',
      ),
    ).toEqual({
      layout: 'scores_boxes',
      scores: 'scores',
      boxes: 'boxes',
      numBoxes: 3000,
      numClasses: 5,
      boxOrder: 'xyxy',
    });
  });

  it('takes y1,x1,y2,x2 boxes (TensorFlow SSD) from the boxes tensor name, or from model.box_order', () => {
    const outs = [
      { name: 'scores', shape: [1, 1917, 90] },
      { name: 'boxes_yxyx', shape: [1, 1917, 4] },
    ];
    expect(bindLayout('m.onnx', outs, 'auto')).toMatchObject({ layout: 'scores_boxes', boxes: 'boxes_yxyx', numClasses: 90, boxOrder: 'yxyx' });
    expect(bindLayout('m.onnx', outs, 'scores_boxes', 'xyxy')).toMatchObject({ boxOrder: 'xyxy' });
    const plain = [
      { name: 'scores', shape: [1, 10, 3] },
      { name: 'boxes', shape: [1, 10, 4] },
    ];
    expect(bindLayout('m.onnx', plain, 'auto', 'yxyx')).toMatchObject({ boxOrder: 'yxyx' });
  });

  it('recognises scores/boxes by shape when names are generic', () => {
    const b = bindLayout(
      'm.onnx',
      [
        { name: 'output_1', shape: [1, 100, 4] },
        { name: 'output_0', shape: [1, 100, 21] },
      ],
      'auto',
    );
    expect(b).toMatchObject({ layout: 'scores_boxes', scores: 'output_0', boxes: 'output_1', numClasses: 21 });
  });

  it('recognises the TensorRT NMS plugin (nms7) outputs with keep count', () => {
    expect(
      bindLayout(
        'm.onnx',
        [
          { name: 'NMS', shape: [1, 1, 200, 7] },
          { name: 'NMS_1', shape: [1, 1, 1, 1] },
        ],
        'auto',
      ),
    ).toEqual({
      layout: 'nms7',
      detections: 'NMS',
      keepCount: 'NMS_1',
      count: 200,
    });
  });

  it('recognises EfficientNMS outputs', () => {
    const outs = [
      { name: 'num_dets', shape: [1, 1] },
      { name: 'det_boxes', shape: [1, 100, 4] },
      { name: 'det_scores', shape: [1, 100] },
      { name: 'det_classes', shape: [1, 100] },
    ];
    expect(bindLayout('m.onnx', outs, 'auto')).toEqual({
      layout: 'efficient_nms',
      numDets: 'num_dets',
      boxes: 'det_boxes',
      scores: 'det_scores',
      classes: 'det_classes',
      maxDets: 100,
    });
  });

  it('rejects outputs that fit no layout with one line naming them', () => {
    expect(() => bindLayout('cls.onnx', [{ name: 'logits', shape: [1, 1000] }], 'auto')).toThrow(
      'cls.onnx: unsupported model outputs logits[1,1000] (expected an SSD with scores_boxes, nms7 or efficient_nms outputs; see README "Models")',
    );
  });

  it('rejects a requested layout the outputs do not match', () => {
    expect(() =>
      bindLayout(
        'm.onnx',
        [
          { name: 'scores', shape: [1, 10, 5] },
          { name: 'boxes', shape: [1, 10, 4] },
        ],
        'nms7',
      ),
    ).toThrow(/do not match model.layout "nms7"/);
  });
});

describe('model.label_map', () => {
  const sb: LayoutBinding = { layout: 'scores_boxes', scores: 's', boxes: 'b', numBoxes: 10, numClasses: 6, boxOrder: 'yxyx' };
  const coco = ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'dog'];

  it('maps model labels to reported ones and drops the rest; class_id stays the raw index', () => {
    const c = modelClasses('m.onnx', sb, coco, { person: 'pedestrian', Car: 'vehicle', bus: 'vehicle' });
    expect(c.labels).toEqual(['pedestrian', 'bicycle', 'vehicle', 'motorcycle', 'vehicle', 'dog']);
    expect(c.modelLabels).toEqual(coco);
    expect(c.ignoreClasses).toEqual([1, 3, 5]);
    expect(reportedLabels(c)).toEqual(['pedestrian', 'vehicle']);
    expect(classIdsFor(['vehicle'], c.labels, c.ignoreClasses)).toEqual([2, 4]);
    // car and bus share an NMS group (the first class reported as vehicle)
    expect(c.nmsGroups).toEqual([0, 1, 2, 3, 2, 5]);
  });

  it("none reports the model's own labels; auto is none for a model that is not in the registry", () => {
    expect(modelClasses('m.onnx', sb, coco, 'none')).toMatchObject({ labels: coco, ignoreClasses: [], labelMap: null });
    expect(modelClasses('m.onnx', sb, coco, 'auto')).toMatchObject({ labels: coco, ignoreClasses: [], labelMap: null });
  });

  it("auto applies the pulled COCO model's default map (docs/models.md), engines built from it too", () => {
    const labels = registryModel('ssdlite-mobilenet-v2-coco')!.labels;
    const b90: LayoutBinding = { ...sb, numClasses: 90 };
    for (const file of ['models/ssdlite-mobilenet-v2-coco.onnx', '/x/ssdlite-mobilenet-v2-coco.fp16.engine']) {
      const c = modelClasses(file, b90, labels, 'auto');
      const kept = c.labels.flatMap((l, i) => (c.ignoreClasses.includes(i) ? [] : [`${labels[i]}>${l}`]));
      expect(kept).toEqual([
        'person>pedestrian',
        'bicycle>bicycle',
        'car>vehicle',
        'motorcycle>bicycle',
        'bus>vehicle',
        'truck>vehicle',
        'traffic light>road_sign',
        'stop sign>road_sign',
      ]);
      expect(c.ignoreClasses).toHaveLength(82);
    }
  });

  it('names a map key that is not a model label', () => {
    expect(() => modelClasses('m.onnx', sb, coco, { persn: 'pedestrian' })).toThrow(
      'model.label_map: "persn" is not a label of m.onnx (its labels are person, bicycle, car, motorcycle, bus, dog)',
    );
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
    const nms7: LayoutBinding = { layout: 'nms7', detections: 'd', keepCount: null, count: 10 };
    const sb = (numClasses: number): LayoutBinding => ({ layout: 'scores_boxes', scores: 's', boxes: 'b', numBoxes: 10, numClasses, boxOrder: 'xyxy' });
    expect(modelClasses('m.onnx', nms7, ['Background', 'car', 'BACKGROUND'], 'none').ignoreClasses).toEqual([0, 2]);
    expect(
      modelClasses('m.onnx', { layout: 'efficient_nms', numDets: 'n', boxes: 'b', scores: 's', classes: 'c', maxDets: 1 }, ['car', 'bus'], 'none')
        .ignoreClasses,
    ).toEqual([]);
    // scores_boxes: class 0 is the background column when it is named so, or when no labels are known
    expect(modelClasses('m.onnx', sb(3), ['bg', 'sign', 'BackGround'], 'none').ignoreClasses).toEqual([0, 2]);
    expect(modelClasses('m.onnx', sb(2), ['__background__', 'car'], 'none').ignoreClasses).toEqual([0]);
    expect(modelClasses(join(dir, 'nolabels.onnx'), sb(2), null, 'none')).toMatchObject({ labels: ['class_0', 'class_1'], ignoreClasses: [0] });
    // ... and a real class when the labels say so (TensorFlow SSDs: sigmoid scores, column 0 = person)
    expect(modelClasses('m.onnx', sb(3), ['person', 'bicycle', 'car'], 'none').ignoreClasses).toEqual([]);
    expect(() => modelClasses('m.onnx', sb(3), ['a', 'b'], 'none')).toThrow(
      'm.onnx: the model has 3 classes but 2 labels were given (fix model.labels or the .labels.txt file)',
    );
    expect(classIdsFor(['vehicle', 3, '1'], ['background', 'vehicle', 'x', 'y'])).toEqual([1, 3, 1]);
    // a reported label may stand for several classes; ignored classes are never matched
    expect(classIdsFor(['vehicle'], ['pedestrian', 'vehicle', 'dog', 'vehicle'], [2])).toEqual([1, 3]);
    expect(() => classIdsFor(['dog'], ['pedestrian', 'vehicle', 'dog'], [2])).toThrow(
      'detect.classes: unknown class "dog" (the model\'s labels are pedestrian, vehicle)',
    );
    expect(() => classIdsFor(['truck'], ['background', 'vehicle'])).toThrow(
      'detect.classes: unknown class "truck" (the model\'s labels are background, vehicle)',
    );
  });
});
