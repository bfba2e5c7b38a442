"""mAP@0.5 (VOC 2010+ all-point interpolation) with the same rules as `trt-detect eval`:
difficult boxes (occluded == 2, truncated > 0.5, < 10 px tall) and DontCare regions absorb
detections without counting; difficult boxes are not ground truth.

Also evaluates an ONNX model on a KITTI directory with onnxruntime:
    python3 evaluate.py --onnx models/ssd-traffic.onnx --data data/test [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

CLASSES = ['road_sign', 'vehicle', 'pedestrian', 'bicycle']  # class_id = index + 1


def read_kitti(path):
    """-> dict(boxes [K,4], labels [K] class id (1..4), difficult [K] bool, ignore [L,4])."""
    boxes, labels, difficult, ignore = [], [], [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 8:
                continue
            b = [float(v) for v in p[4:8]]
            if p[0].lower() == 'dontcare':
                ignore.append(b)
                continue
            if p[0] not in CLASSES:
                continue
            trunc, occ = float(p[1]), int(float(p[2]))
            boxes.append(b)
            labels.append(CLASSES.index(p[0]) + 1)
            difficult.append(occ == 2 or trunc > 0.5 or (b[3] - b[1]) < 10 or (b[2] - b[0]) <= 0)
    return dict(boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4), labels=np.array(labels, dtype=np.int64),
                difficult=np.array(difficult, dtype=bool), ignore=np.array(ignore, dtype=np.float64).reshape(-1, 4))


def rows_to_gt(rows):
    """Same as read_kitti, from scene.label_objects rows (generator side, no files)."""
    boxes, labels, difficult, ignore = [], [], [], []
    for typ, tr, oc, _al, b, *_ in rows:
        b = [round(v, 2) for v in b]
        if typ == 'DontCare':
            ignore.append(b)
            continue
        boxes.append(b)
        labels.append(CLASSES.index(typ) + 1)
        difficult.append(oc == 2 or tr > 0.5 or (b[3] - b[1]) < 10)
    return dict(boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4), labels=np.array(labels, dtype=np.int64),
                difficult=np.array(difficult, dtype=bool), ignore=np.array(ignore, dtype=np.float64).reshape(-1, 4))


def iou_one(b, boxes):
    ix = np.clip(np.minimum(b[2], boxes[:, 2]) - np.maximum(b[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(b[3], boxes[:, 3]) - np.maximum(b[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    ua = (b[2] - b[0]) * (b[3] - b[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return np.where(ua > 0, inter / np.maximum(ua, 1e-12), 0.0)


def fraction_inside(b, regions):
    area = (b[2] - b[0]) * (b[3] - b[1])
    if area <= 0 or len(regions) == 0:
        return np.zeros(len(regions))
    ix = np.clip(np.minimum(b[2], regions[:, 2]) - np.maximum(b[0], regions[:, 0]), 0, None)
    iy = np.clip(np.minimum(b[3], regions[:, 3]) - np.maximum(b[1], regions[:, 1]), 0, None)
    return ix * iy / area


def voc_ap(rec, prec):
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def compute_map(gts, dets, iou_thr=0.5):
    """gts: list of read_kitti dicts; dets: list of arrays [K,6] (x1,y1,x2,y2,score,class_id)."""
    ap = {}
    for ci, name in enumerate(CLASSES, start=1):
        npos = sum(int(((g['labels'] == ci) & ~g['difficult']).sum()) for g in gts)
        cand = []
        for i, d in enumerate(dets):
            for row in d[d[:, 5] == ci] if len(d) else []:
                cand.append((-row[4], i, row[:4]))
        cand.sort(key=lambda c: c[0])
        used = [np.zeros(int((g['labels'] == ci).sum()), dtype=bool) for g in gts]
        tp, fp = [], []
        for _negscore, i, box in cand:
            g = gts[i]
            m = g['labels'] == ci
            gb, gd = g['boxes'][m], g['difficult'][m]
            ious = iou_one(box, gb) if len(gb) else np.zeros(0)
            ok = (ious >= iou_thr) & ~gd & ~used[i]
            if ok.any():
                j = int(np.argmax(np.where(ok, ious, -1)))
                used[i][j] = True
                tp.append(1)
                fp.append(0)
            elif ((ious >= iou_thr) & gd).any() or (fraction_inside(box, g['ignore']) > 0.5).any():
                continue
            else:
                tp.append(0)
                fp.append(1)
        if npos == 0:
            ap[name] = None
            continue
        tp_c, fp_c = np.cumsum(tp), np.cumsum(fp)
        rec = tp_c / npos if len(tp) else np.zeros(0)
        prec = tp_c / np.maximum(tp_c + fp_c, 1e-12) if len(tp) else np.zeros(0)
        ap[name] = voc_ap(rec, prec)
    vals = [v for v in ap.values() if v is not None]
    return (float(np.mean(vals)) if vals else 0.0), ap


def nms_numpy(boxes, scores, iou_thr):
    order = np.argsort(-scores)
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        if len(order) == 1:
            break
        ious = iou_one(boxes[i], boxes[order[1:]])
        order = order[1:][ious < iou_thr]
    return np.array(keep, dtype=np.int64)


def postprocess(scores, boxes, width, height, thr=0.01, nms_iou=0.45, top_k=200, max_det=100):
    """scores [N,C] softmax, boxes [N,4] normalized -> [K,6] pixel detections."""
    out = []
    for c in range(1, scores.shape[1]):
        s = scores[:, c]
        idx = np.nonzero(s > thr)[0]
        if len(idx) == 0:
            continue
        idx = idx[np.argsort(-s[idx])[:top_k]]
        b = boxes[idx] * np.array([width, height, width, height])
        keep = nms_numpy(b, s[idx], nms_iou)
        for k in keep:
            out.append([*b[k], s[idx][k], c])
    out = np.array(out, dtype=np.float64).reshape(-1, 6)
    return out[np.argsort(-out[:, 4])[:max_det]]


def load_image(path, width, height):
    from PIL import Image
    img = Image.open(path).convert('RGB')
    W, H = img.size
    x = np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32)
    x = (x / 255.0 - 0.5) / 0.5
    return x.transpose(2, 0, 1)[None].copy(), W, H


def evaluate_onnx(onnx_path, data_dir, limit=0, threads=0):
    import onnxruntime as ort
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(onnx_path, so, providers=['CPUExecutionProvider'])
    _, _, h, w = sess.get_inputs()[0].shape
    names = sorted(os.listdir(os.path.join(data_dir, 'images')))
    if limit:
        names = names[:limit]
    gts, dets = [], []
    for n in names:
        x, W, H = load_image(os.path.join(data_dir, 'images', n), w, h)
        scores, boxes = sess.run(['scores', 'boxes'], {'input': x})
        dets.append(postprocess(scores[0], boxes[0], W, H))
        gts.append(read_kitti(os.path.join(data_dir, 'labels', os.path.splitext(n)[0] + '.txt')))
    m, ap = compute_map(gts, dets)
    return dict(mAP=m, ap=ap, images=len(names))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--onnx', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--limit', type=int, default=0)
    ap.add_argument('--json')
    a = ap.parse_args()
    r = evaluate_onnx(a.onnx, a.data, a.limit)
    print(json.dumps(r))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(r, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
