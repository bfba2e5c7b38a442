"""Trains the traffic SSD on synthetic scenes generated on the fly (see scripts/train/README.md).

CPU processes keep rendering new training images (seed --train-seed, image indices from
--index-offset on) while the GPU trains on everything rendered so far (a GPU-resident pool).
The schedule is driven by wall time (--minutes): linear warmup, cosine decay. Every --eval-every
seconds: val mAP@0.5 (seed --val-seed) and a checkpoint (EMA weights) in --out.
"""
from __future__ import annotations

import argparse
import collections
import io
import json
import math
import os
import sys
import threading
import time
from multiprocessing import get_context

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'dataset'))

from PIL import Image  # noqa: E402

from scene import render_image  # noqa: E402

MAX_OBJ = 64
JPEG_QUALITY = 92  # as make_dataset.py writes the files


def render_train(job):
    """(seed, index, in_w, in_h) -> (uint8 [h,w,3] stretched to the input, boxes [K,4] norm, labels [K])."""
    seed, index, iw, ih = job
    img, rows = render_image(seed, index)
    buf = io.BytesIO()
    img.save(buf, format='JPEG', quality=JPEG_QUALITY)
    buf.seek(0)
    img = Image.open(buf).convert('RGB')
    W, H = img.size
    arr = np.asarray(img.resize((iw, ih), Image.BILINEAR), dtype=np.uint8)
    boxes, labels = [], []
    names = ['road_sign', 'vehicle', 'pedestrian', 'bicycle']
    for typ, tr, oc, _al, b, *_ in rows:
        boxes.append([b[0] / W, b[1] / H, b[2] / W, b[3] / H])
        labels.append(-1 if typ == 'DontCare' else names.index(typ) + 1)
    return arr, np.array(boxes, dtype=np.float32).reshape(-1, 4), np.array(labels, dtype=np.int64), rows, (W, H)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--minutes', type=float, default=7.0, help='training wall time')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--lr', type=float, default=2.5e-3)
    ap.add_argument('--wd', type=float, default=0.02)
    ap.add_argument('--warmup', type=int, default=300)
    ap.add_argument('--width-mult', type=float, default=1.0)
    ap.add_argument('--in-w', type=int, default=512)
    ap.add_argument('--in-h', type=int, default=288)
    ap.add_argument('--workers', type=int, default=max(1, (os.cpu_count() or 2) - 2))
    ap.add_argument('--capacity', type=int, default=80000)
    ap.add_argument('--train-seed', type=int, default=1)
    ap.add_argument('--index-offset', type=int, default=0)
    ap.add_argument('--val-seed', type=int, default=2)
    ap.add_argument('--val-count', type=int, default=500)
    ap.add_argument('--eval-every', type=float, default=90.0)
    ap.add_argument('--warm-images', type=int, default=3000, help='images rendered before the first step')
    ap.add_argument('--match-topk', type=int, default=4, help='also match each box to its k best anchors (0: off)')
    ap.add_argument('--match-min-iou', type=float, default=0.25, help='... when their IoU is at least this')
    ap.add_argument('--seed', type=int, default=0, help='torch seed (weights init, batch sampling, augmentation)')
    ap.add_argument('--resume', default='')
    ap.add_argument('--export', default='', help='ONNX path written at the end')
    ap.add_argument('--cpu-test', action='store_true', help='tiny run on CPU to check the code path')
    ap.add_argument('--max-steps', type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t_start = time.time()

    # the render pool is forked before CUDA starts
    pool = get_context('fork').Pool(a.workers)
    val_jobs = [(a.val_seed, i, a.in_w, a.in_h) for i in range(a.val_count)]
    val_async = pool.map_async(render_train, val_jobs, chunksize=4)

    def train_jobs():
        i = a.index_offset
        while True:
            yield (a.train_seed, i, a.in_w, a.in_h)
            i += 1

    ready = collections.deque()
    produced = [0]
    stop = threading.Event()

    def consume():
        for r in pool.imap(render_train, train_jobs(), chunksize=8):
            ready.append(r[:3])
            produced[0] += 1
            if stop.is_set():
                break

    import torch
    import torch.nn.functional as F
    from ssd import SSDNet, cxcywh_to_xyxy, decode, make_anchors, ssd_loss
    from evaluate import compute_map, rows_to_gt
    from export import export

    torch.manual_seed(a.seed)
    dev = torch.device('cpu' if a.cpu_test or not torch.cuda.is_available() else 'cuda')
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    print(f'torch {torch.__version__} device {dev} workers {a.workers}', flush=True)

    val = val_async.get()
    val_imgs = torch.from_numpy(np.stack([v[0] for v in val])).to(dev)
    val_gts = [rows_to_gt(v[3]) for v in val]
    val_size = val[0][4]
    del val
    print(f'val ready ({len(val_gts)} images) at {time.time() - t_start:.1f}s', flush=True)
    th = threading.Thread(target=consume, daemon=True)
    th.start()

    cap = a.capacity if not a.cpu_test else 256
    pool_imgs = torch.empty((cap, a.in_h, a.in_w, 3), dtype=torch.uint8, device=dev)
    pool_boxes = torch.zeros((cap, MAX_OBJ, 4), dtype=torch.float32, device=dev)
    pool_labels = torch.zeros((cap, MAX_OBJ), dtype=torch.int8, device=dev)
    n_in = [0]

    def drain(limit=4096):
        items = []
        while ready and len(items) < limit:
            items.append(ready.popleft())
        if not items:
            return
        imgs = torch.from_numpy(np.stack([it[0] for it in items]))
        bx = torch.zeros((len(items), MAX_OBJ, 4))
        lb = torch.zeros((len(items), MAX_OBJ), dtype=torch.int8)
        for j, (_, b, l) in enumerate(items):
            k = min(MAX_OBJ, len(l))
            bx[j, :k] = torch.from_numpy(b[:k])
            lb[j, :k] = torch.from_numpy(l[:k].astype(np.int8))
        slots = (torch.arange(len(items)) + n_in[0]) % cap
        pool_imgs[slots.to(dev)] = imgs.to(dev)
        pool_boxes[slots.to(dev)] = bx.to(dev)
        pool_labels[slots.to(dev)] = lb.to(dev)
        n_in[0] += len(items)

    warm = a.warm_images if not a.cpu_test else 16
    while n_in[0] < warm:
        time.sleep(0.2)
        drain()
    print(f'{n_in[0]} training images ready at {time.time() - t_start:.1f}s', flush=True)

    net = SSDNet(width=a.width_mult).to(dev)
    step0 = 0
    prev_seconds = 0.0
    if a.resume:
        ck = torch.load(a.resume, map_location='cpu')
        net.load_state_dict({k: v.float() for k, v in ck['model'].items()})
        step0 = ck.get('step', 0)
        prev_seconds = float(ck.get('train_seconds_total', 0.0))
        print(f'resumed from {a.resume} (step {step0})', flush=True)
    net = net.to(memory_format=torch.channels_last)
    ema = SSDNet(width=a.width_mult).to(dev)
    ema.load_state_dict(net.state_dict())
    ema.eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    decay_params = [p for n, p in net.named_parameters() if p.ndim > 1]
    other_params = [p for n, p in net.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{'params': decay_params, 'weight_decay': a.wd},
                             {'params': other_params, 'weight_decay': 0.0}], lr=a.lr, betas=(0.9, 0.99))
    anchors = make_anchors(a.in_h, a.in_w).to(dev)
    anchors_xyxy = cxcywh_to_xyxy(anchors)
    budget = a.minutes * 60.0
    t_train = time.time()
    use_amp = dev.type == 'cuda'

    def prep(u8):  # [B,H,W,3] uint8 -> normalized NCHW float
        x = u8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=torch.channels_last)

    def augment(x, boxes, labels):
        B = x.shape[0]
        # horizontal flip
        flip = torch.rand(B, device=dev) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        fb = boxes.clone()
        fb[..., 0] = 1 - boxes[..., 2]
        fb[..., 2] = 1 - boxes[..., 0]
        boxes = torch.where(flip[:, None, None], fb, boxes)
        # zoom in/out on half the batch (gray padding), boxes follow; mostly cut boxes become ignore
        z = torch.exp(torch.empty(B, device=dev).uniform_(math.log(0.75), math.log(1.6)))
        z = torch.where(torch.rand(B, device=dev) < 0.5, z, torch.ones_like(z))
        lim = (1 - 1 / z).abs()
        tx = (torch.rand(B, device=dev) * 2 - 1) * lim
        ty = (torch.rand(B, device=dev) * 2 - 1) * lim
        theta = torch.zeros(B, 2, 3, device=dev)
        theta[:, 0, 0] = 1 / z
        theta[:, 1, 1] = 1 / z
        theta[:, 0, 2] = tx
        theta[:, 1, 2] = ty
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
        g = boxes * 2 - 1
        off = torch.stack([tx, ty, tx, ty], -1)[:, None]
        g = (g - off) * z[:, None, None]
        nb = (g + 1) / 2
        area = ((nb[..., 2] - nb[..., 0]) * (nb[..., 3] - nb[..., 1])).clamp(min=1e-9)
        cb = nb.clamp(0, 1)
        carea = (cb[..., 2] - cb[..., 0]).clamp(min=0) * (cb[..., 3] - cb[..., 1]).clamp(min=0)
        frac = carea / area
        hpx = (cb[..., 3] - cb[..., 1]) * a.in_h
        labels = labels.clone()
        gone = (frac < 0.05) | (hpx < 2)
        cut = (frac < 0.5) & (labels > 0)
        labels = torch.where(cut, torch.full_like(labels, -1), labels)
        labels = torch.where(gone, torch.zeros_like(labels), labels)
        # photometric: brightness / contrast / saturation jitter
        bsh = torch.empty(B, 1, 1, 1, device=dev).uniform_(-0.15, 0.15)
        con = torch.empty(B, 1, 1, 1, device=dev).uniform_(0.8, 1.2)
        sat = torch.empty(B, 1, 1, 1, device=dev).uniform_(0.7, 1.3)
        gray = x.mean(1, keepdim=True)
        x = gray + (x - gray) * sat
        x = (x * con + bsh).clamp(-1, 1)
        return x.contiguous(memory_format=torch.channels_last), cb, labels

    @torch.no_grad()
    def evaluate(model):
        from torchvision.ops import batched_nms
        model.eval()
        dets = []
        W, H = val_size
        scale = torch.tensor([W, H, W, H], device=dev, dtype=torch.float32)
        for i in range(0, val_imgs.shape[0], 64):
            x = prep(val_imgs[i:i + 64])
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
                logits, deltas = model(x)
            scores = logits.float().softmax(-1)
            boxes = decode(deltas.float(), anchors[None]).clamp(0, 1) * scale
            for s, b in zip(scores, boxes):
                cand_s, cand_b, cand_c = [], [], []
                for c in range(1, s.shape[1]):
                    sc = s[:, c]
                    idx = torch.nonzero(sc > 0.01).squeeze(1)
                    if idx.numel() > 200:
                        idx = idx[sc[idx].topk(200).indices]
                    cand_s.append(sc[idx])
                    cand_b.append(b[idx])
                    cand_c.append(torch.full_like(idx, c))
                cs, cb_, cc = torch.cat(cand_s), torch.cat(cand_b), torch.cat(cand_c)
                keep = batched_nms(cb_, cs, cc, 0.45)[:100]
                d = torch.cat([cb_[keep], cs[keep, None], cc[keep, None].float()], 1)
                dets.append(d.cpu().numpy().astype(np.float64))
        return compute_map(val_gts, dets)

    def save(model, step, tag='ckpt.pt'):
        sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save({'model': sd, 'width': a.width_mult, 'height': a.in_h, 'width_px': a.in_w, 'step': step,
                    'train_seconds_total': prev_seconds + time.time() - t_train, 'args': vars(a)},
                   os.path.join(a.out, tag))

    def write_history():
        with open(os.path.join(a.out, 'history.json'), 'w') as f:
            json.dump(dict(history=hist, train_seconds=time.time() - t_train,
                           train_seconds_total=prev_seconds + time.time() - t_train, steps=step,
                           images_rendered=n_in[0], batch=a.batch, args=vars(a)), f, indent=1)

    ema_f = [v for v in ema.state_dict().values() if v.dtype.is_floating_point]
    ema_i = [v for v in ema.state_dict().values() if not v.dtype.is_floating_point]
    net_f = [v for v in net.state_dict().values() if v.dtype.is_floating_point]
    net_i = [v for v in net.state_dict().values() if not v.dtype.is_floating_point]

    step = step0
    last_eval = time.time()
    hist = []
    loss_acc, n_acc = [0.0, 0.0], 0
    best = -1.0
    while True:
        elapsed = time.time() - t_train
        frac = min(1.0, elapsed / budget)
        if frac >= 1.0 or (a.max_steps and step - step0 >= a.max_steps):
            break
        s_rel = step - step0
        lr = a.lr * (min(1.0, (s_rel + 1) / a.warmup)) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for gparam in opt.param_groups:
            gparam['lr'] = lr
        drain()
        n_avail = min(n_in[0], cap)
        idx = torch.randint(0, n_avail, (a.batch,), device=dev)
        x = prep(pool_imgs[idx])
        boxes = pool_boxes[idx]
        labels = pool_labels[idx].long()
        m_used = int((labels != 0).any(0).nonzero().max()) + 1 if (labels != 0).any() else 1
        boxes, labels = boxes[:, :m_used], labels[:, :m_used]
        x, boxes, labels = augment(x, boxes, labels)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
            logits, deltas = net(x)
        cls_l, box_l = ssd_loss(logits, deltas, anchors, anchors_xyxy, boxes, labels,
                                topk=a.match_topk, topk_min_iou=a.match_min_iou)
        loss = cls_l + box_l
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        step += 1
        with torch.no_grad():
            d = min(0.9995, (1 + s_rel) / (10 + s_rel))
            torch._foreach_mul_(ema_f, d)
            torch._foreach_add_(ema_f, net_f, alpha=1 - d)
            for e, n in zip(ema_i, net_i):
                e.copy_(n)
        if step % 50 == 0:
            loss_acc[0] += float(cls_l)
            loss_acc[1] += float(box_l)
            n_acc += 1
        if step % 200 == 0:
            print(f'step {step} t={time.time() - t_start:.0f}s lr={lr:.2e} cls={loss_acc[0] / max(1, n_acc):.3f} '
                  f'box={loss_acc[1] / max(1, n_acc):.3f} images={n_in[0]}', flush=True)
            loss_acc, n_acc = [0.0, 0.0], 0
        if time.time() - last_eval > a.eval_every:
            m, ap = evaluate(ema)
            net.train()
            hist.append(dict(step=step, t=round(time.time() - t_start), mAP=m, ap=ap, images=n_in[0]))
            print(f'EVAL step {step} val mAP@0.5={m:.4f} ' + ' '.join(f'{k}={v:.3f}' for k, v in ap.items() if v is not None),
                  flush=True)
            save(ema, step)
            write_history()
            last_eval = time.time()
    stop.set()
    m, ap = evaluate(ema)
    hist.append(dict(step=step, t=round(time.time() - t_start), mAP=m, ap=ap, images=n_in[0]))
    print(f'FINAL step {step} val mAP@0.5={m:.4f} ' + ' '.join(f'{k}={v:.3f}' for k, v in ap.items() if v is not None),
          flush=True)
    save(ema, step)
    train_s = time.time() - t_train
    write_history()
    print(f'training took {train_s:.0f}s ({step - step0} steps, {n_in[0]} images rendered)', flush=True)
    pool.terminate()
    if a.export:
        ema_cpu = SSDNet(width=a.width_mult)
        ema_cpu.load_state_dict({k: v.detach().cpu().float() for k, v in ema.state_dict().items()})
        export(ema_cpu, a.in_h, a.in_w, a.export)
        print(f'exported {a.export} ({os.path.getsize(a.export) / 1e6:.1f} MB)', flush=True)
    os._exit(0)


if __name__ == '__main__':
    main()
