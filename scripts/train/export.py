"""Exports a checkpoint to ONNX (opset 13, static [1,3,H,W] input named "input", outputs "scores"
[1,N,5] softmax probabilities and "boxes" [1,N,4] normalized x1,y1,x2,y2).

    python3 export.py --ckpt ckpt.pt --out models/ssd-traffic.onnx
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ssd import LABELS, Exported, SSDNet  # noqa: E402


def load_net(ckpt_path: str):
    ck = torch.load(ckpt_path, map_location='cpu')
    net = SSDNet(width=ck['width'])
    net.load_state_dict({k: v.float() for k, v in ck['model'].items()})
    net.eval()
    return net, ck


def export(net: SSDNet, height: int, width: int, out: str, opset: int = 13):
    model = Exported(net.float().cpu().eval(), height, width).eval()
    x = torch.zeros(1, 3, height, width)
    kwargs = dict(input_names=['input'], output_names=['scores', 'boxes'], opset_version=opset,
                  do_constant_folding=True)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with torch.no_grad():
        try:
            torch.onnx.export(model, (x,), out, dynamo=False, **kwargs)
        except TypeError:  # older torch without the dynamo switch
            torch.onnx.export(model, (x,), out, **kwargs)
    labels = os.path.splitext(out)[0] + '.labels.txt'
    with open(labels, 'w') as f:
        f.write('\n'.join(LABELS) + '\n')
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    net, ck = load_net(a.ckpt)
    export(net, ck['height'], ck['width_px'], a.out)
    print(f'wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB)')


if __name__ == '__main__':
    main()
