"""SSD-MobileNetV2 (SSDLite-style heads, light top-down path) for the traffic classes.

Levels: stride 8, 16, 32 from MobileNetV2 plus two extra blocks (stride 64, 128). The stride-8 and
stride-16 maps get the coarser features added (nearest 2x upsampling), which helps the small
(~10 px) objects. Anchors: 2 sizes x 3 aspect ratios (w/h 0.4: pedestrians and poles, 1.1: signs,
cars from behind, riders, 2.6: side views) per cell. Box coding: SSD centre offsets with weights
(10, 10, 5, 5). Everything here is written for this project.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

NUM_CLASSES = 5  # background + road_sign, vehicle, pedestrian, bicycle
LABELS = ['background', 'road_sign', 'vehicle', 'pedestrian', 'bicycle']
ASPECTS = (0.4, 1.1, 2.6)
SIZE_STEP = 1.45
BASE_SIZES = (11.0, 24.0, 50.0, 105.0, 210.0)  # anchor size (sqrt(w*h), input pixels) per level
BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
BBOX_CLAMP = math.log(1000.0 / 16)


def conv_bn(cin, cout, k=1, s=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


def sep(cin, cout, s=1):
    return nn.Sequential(conv_bn(cin, cin, 3, s, groups=cin), conv_bn(cin, cout, 1))


class Head(nn.Module):
    """Depthwise 3x3 + pointwise prediction, like SSDLite."""

    def __init__(self, cin, cout):
        super().__init__()
        self.dw = conv_bn(cin, cin, 3, 1, groups=cin)
        self.pw = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.pw(self.dw(x))


class SSDNet(nn.Module):
    def __init__(self, width: float = 1.0, num_classes: int = NUM_CLASSES, anchors_per_cell: int = 6):
        super().__init__()
        f = torchvision.models.mobilenet_v2(weights=None, width_mult=width).features
        self.c8, self.c16, self.c32 = f[:7], f[7:14], f[14:18]
        with torch.no_grad():
            x = torch.zeros(1, 3, 64, 64)
            a = self.c8(x)
            b = self.c16(a)
            c = self.c32(b)
        ch8, ch16, ch32 = a.shape[1], b.shape[1], c.shape[1]
        self.ex64 = nn.Sequential(conv_bn(ch32, 128), conv_bn(128, 128, 3, 2, groups=128), conv_bn(128, 256))
        self.ex128 = nn.Sequential(conv_bn(256, 64), conv_bn(64, 64, 3, 2, groups=64), conv_bn(64, 128))
        self.top32 = conv_bn(ch32, ch16)
        self.top16 = conv_bn(ch16, 64)
        self.lat8 = conv_bn(ch8, 64)
        self.smooth16 = sep(ch16, 128)
        self.smooth8 = sep(64, 96)
        chans = [96, 128, ch32, 256, 128]
        self.num_classes = num_classes
        self.A = anchors_per_cell
        self.cls = nn.ModuleList([Head(c, self.A * num_classes) for c in chans])
        self.reg = nn.ModuleList([Head(c, self.A * 4) for c in chans])
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for h in self.cls:  # start with background ~ 0.96
            nn.init.normal_(h.pw.weight, std=0.01)
            with torch.no_grad():
                h.pw.bias.view(self.A, num_classes)[:, 0] = 4.6
        for h in self.reg:
            nn.init.normal_(h.pw.weight, std=0.01)

    def features(self, x):
        c8 = self.c8(x)
        c16 = self.c16(c8)
        c32 = self.c32(c16)
        p64 = self.ex64(c32)
        p128 = self.ex128(p64)
        t16 = c16 + F.interpolate(self.top32(c32), scale_factor=2.0, mode='nearest')
        t8 = self.lat8(c8) + F.interpolate(self.top16(t16), scale_factor=2.0, mode='nearest')
        return [self.smooth8(t8), self.smooth16(t16), c32, p64, p128]

    def forward(self, x):
        """Returns (logits [B,N,C], box deltas [B,N,4]) in anchor order (level, y, x, anchor)."""
        feats = self.features(x)
        B = x.shape[0]
        logits, deltas = [], []
        for f, hc, hr in zip(feats, self.cls, self.reg):
            logits.append(hc(f).permute(0, 2, 3, 1).reshape(B, -1, self.num_classes))
            deltas.append(hr(f).permute(0, 2, 3, 1).reshape(B, -1, 4))
        return torch.cat(logits, 1), torch.cat(deltas, 1)


def level_shapes(height: int, width: int):
    """Feature map sizes of the five levels for an input of height x width."""
    shapes = []
    h, w = height, width
    for i in range(5):
        # stride-2 convs with padding 1: out = floor((n - 1) / 2) + 1, applied 3, 1, 1, 1, 1 times
        steps = 3 if i == 0 else 1
        for _ in range(steps):
            h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
        shapes.append((h, w))
    return shapes


def make_anchors(height: int, width: int) -> torch.Tensor:
    """Anchors [N,4] as normalized (cx, cy, w, h)."""
    out = []
    for (fh, fw), base in zip(level_shapes(height, width), BASE_SIZES):
        ys = (torch.arange(fh, dtype=torch.float32) + 0.5) / fh
        xs = (torch.arange(fw, dtype=torch.float32) + 0.5) / fw
        cy, cx = torch.meshgrid(ys, xs, indexing='ij')
        wh = []
        for size in (base, base * SIZE_STEP):
            for ar in ASPECTS:
                wh.append((size * math.sqrt(ar) / width, size / math.sqrt(ar) / height))
        wh = torch.tensor(wh)  # [A,2]
        A = wh.shape[0]
        c = torch.stack([cx, cy], -1).reshape(-1, 1, 2).expand(-1, A, 2)
        s = wh.reshape(1, A, 2).expand(c.shape[0], A, 2)
        out.append(torch.cat([c, s], -1).reshape(-1, 4))
    return torch.cat(out, 0)


def cxcywh_to_xyxy(b):
    return torch.cat([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], -1)


def encode(gt_xyxy, anchors):
    """gt [...,4] xyxy, anchors [...,4] cxcywh -> deltas."""
    wx, wy, ww, wh = BOX_WEIGHTS
    gw = (gt_xyxy[..., 2] - gt_xyxy[..., 0]).clamp(min=1e-6)
    gh = (gt_xyxy[..., 3] - gt_xyxy[..., 1]).clamp(min=1e-6)
    gx = gt_xyxy[..., 0] + gw / 2
    gy = gt_xyxy[..., 1] + gh / 2
    return torch.stack([wx * (gx - anchors[..., 0]) / anchors[..., 2], wy * (gy - anchors[..., 1]) / anchors[..., 3],
                        ww * torch.log(gw / anchors[..., 2]), wh * torch.log(gh / anchors[..., 3])], -1)


def decode(deltas, anchors):
    """deltas [...,4], anchors [N,4] cxcywh -> xyxy normalized."""
    wx, wy, ww, wh = BOX_WEIGHTS
    cx = anchors[..., 0] + deltas[..., 0] / wx * anchors[..., 2]
    cy = anchors[..., 1] + deltas[..., 1] / wy * anchors[..., 3]
    w = anchors[..., 2] * torch.exp(torch.clamp(deltas[..., 2] / ww, max=BBOX_CLAMP))
    h = anchors[..., 3] * torch.exp(torch.clamp(deltas[..., 3] / wh, max=BBOX_CLAMP))
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def batched_iou(a, b):
    """a [B,M,4], b [N,4] (xyxy) -> [B,M,N]."""
    area_a = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])).unsqueeze(-1)
    area_b = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, None]
    lt_x = torch.maximum(a[..., 0:1], b[None, None, :, 0])
    lt_y = torch.maximum(a[..., 1:2], b[None, None, :, 1])
    rb_x = torch.minimum(a[..., 2:3], b[None, None, :, 2])
    rb_y = torch.minimum(a[..., 3:4], b[None, None, :, 3])
    inter = (rb_x - lt_x).clamp(min=0) * (rb_y - lt_y).clamp(min=0)
    return inter / (area_a + area_b - inter).clamp(min=1e-9)


def ssd_loss(logits, deltas, anchors, anchors_xyxy, gt_boxes, gt_labels, pos_iou=0.5, neg_ratio=3,
             topk=0, topk_min_iou=0.25):
    """Matching + CE with hard negative mining + smooth L1.

    gt_boxes [B,M,4] normalized xyxy; gt_labels [B,M] (0 = padding, -1 = ignore/DontCare, 1.. = class).
    An anchor is positive when its IoU with a box is >= pos_iou, when it is the best anchor of a box,
    or (topk > 0) when it is among the topk anchors of a box with IoU >= topk_min_iou: small and thin
    objects (a 6x16 px pedestrian between stride-8 anchor centres) rarely reach IoU 0.5 with any anchor
    and would otherwise train on one positive only.
    """
    B, N, C = logits.shape
    valid = gt_labels > 0
    ignore = gt_labels < 0
    with torch.no_grad():
        iou = batched_iou(gt_boxes, anchors_xyxy)  # [B,M,N]
        iou_v = torch.where(valid[..., None], iou, torch.full_like(iou, -1.0))
        best_iou, best_gt = iou_v.max(1)  # [B,N]
        if valid.any():
            bi, mi = torch.nonzero(valid, as_tuple=True)
            ai = iou_v[bi, mi].argmax(-1)
            best_gt[bi, ai] = mi
            best_iou[bi, ai] = 2.0
        pos = best_iou >= pos_iou
        if topk > 0 and valid.any():
            top_v, top_i = iou_v.topk(topk, dim=2)  # [B,M,k]
            ok = (top_v >= topk_min_iou) & valid[..., None]
            b_idx = torch.arange(B, device=top_i.device)[:, None, None].expand_as(top_i)
            pos[b_idx[ok], top_i[ok]] = True  # labelled by the box it overlaps most (best_gt)
        labels = torch.where(pos, gt_labels.gather(1, best_gt).long(), torch.zeros_like(best_gt))
        if ignore.any():
            iou_i = torch.where(ignore[..., None], iou, torch.zeros_like(iou)).amax(1)
            ign = (iou_i >= 0.4) & ~pos
        else:
            ign = torch.zeros_like(pos)
        matched = gt_boxes.gather(1, best_gt[..., None].expand(B, N, 4))
        target = encode(matched, anchors[None].expand(B, N, 4))
    ce = F.cross_entropy(logits.float().reshape(-1, C), labels.reshape(-1), reduction='none').reshape(B, N)
    num_pos = pos.sum(1)
    neg_loss = ce.detach().clone()
    neg_loss[pos | ign] = -1.0
    order = neg_loss.argsort(1, descending=True)
    rank = order.argsort(1)
    k = (num_pos * neg_ratio).clamp(min=8)
    hard = rank < k[:, None]
    hard &= ~(pos | ign)
    total_pos = num_pos.sum().clamp(min=1).float()
    cls_loss = (ce * (pos | hard).float()).sum() / total_pos
    box_loss = F.smooth_l1_loss(deltas.float()[pos], target[pos], beta=1.0 / 9, reduction='sum') / total_pos
    return cls_loss, box_loss


class Exported(nn.Module):
    """The deployed graph: normalized RGB in, softmax scores and decoded normalized boxes out."""

    def __init__(self, net: SSDNet, height: int, width: int):
        super().__init__()
        self.net = net
        self.register_buffer('anchors', make_anchors(height, width))

    def forward(self, x):
        logits, deltas = self.net(x)
        scores = torch.softmax(logits, -1)
        boxes = decode(deltas, self.anchors[None]).clamp(0.0, 1.0)
        return scores, boxes
