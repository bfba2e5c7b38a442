"""Renders the moving-traffic sample clip and its per-frame ground truth.

    python3 sample_video.py --seed 7 --out samples/traffic.mp4 [--gt samples/traffic.gt.json]
                            [--seconds 10] [--fps 25] [--size 960x540] [--kitti DIR]

One street seen by a fixed camera (the same scene generator as the dataset, scene.py): vehicles
drive towards the camera on the left lanes and away on the right ones, crossing traffic passes on
the side street, pedestrians walk along the sidewalks and over the crosswalk, bicycles ride along
the road edge; signs, parked cars, trees and clutter stand still. Objects therefore move across
the frame and change size as their distance changes.

Frames go to ffmpeg (libx264, yuv420p) through a pipe. The ground truth is one JSON document:
{"seed", "width", "height", "fps", "frames": [{"frame", "pts", "objects": [{"id", "label", "box":
[x1,y1,x2,y2], "truncated", "occluded"}], "dontcare": [[x1,y1,x2,y2], ...]}]} with the same
rules as the dataset's KITTI labels (too small, mostly hidden or cut objects become "dontcare").
--kitti DIR also writes DIR/labels/NNNNNN.txt per frame and DIR/images/NNNNNN.png decoded back
from the MP4, so that `trt-detect eval -d DIR` measures the model on exactly what the demo sees.

Seeds: the dataset uses 1 (train), 2 (val), 3 (test); the sample clip uses 7 by default, and the
random stream here is keyed differently from render_image's, so no clip frame is a dataset image.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli import OneLineErrors  # noqa: E402
from scene import (Thing, camera_effects, compose, kitti_text, label_objects, make_camera,  # noqa: E402
                   make_street, render_background)
from sprites import (bicycle_params, distractor_params, person_params, sign_params,  # noqa: E402
                     tree_params, vehicle_params)

VIDEO_STREAM = 0x5A3F1E  # keys the clip's random stream apart from render_image's (seed, index, 0x7A11C)


class Mover:
    """A thing moving at constant velocity (vX, vZ) m/s from (X0, Z0) at t = 0."""

    def __init__(self, thing: Thing, vx: float = 0.0, vz: float = 0.0):
        self.thing, self.X0, self.Z0, self.vx, self.vz = thing, thing.X, thing.Z, vx, vz

    def at(self, t: float) -> Thing:
        th = self.thing
        return Thing(th.kind, self.X0 + self.vx * t, self.Z0 + self.vz * t, th.params, th.phase)


def build_scene(rng: np.random.Generator, cam, st, seconds: float) -> list[Mover]:
    movers: list[Mover] = []
    zmin = max(3.5, cam.z_bottom * 0.85)
    rh, sw = st.road_half, st.side_w
    lane_w = 2 * rh / st.lanes
    # traffic on every lane: the left half comes towards the camera, the right half drives away;
    # one speed per lane and a gap of at least 14 m keep cars of a lane apart
    for lane in range(st.lanes):
        X = -rh + (lane + 0.5) * lane_w
        towards = X < 0
        v = float(rng.uniform(6, 12))
        travel = v * seconds
        if towards:
            z, z_end = float(rng.uniform(12, 30)), 110 + travel
        else:
            z, z_end = float(zmin + 1 - travel * rng.uniform(0.3, 0.8)), 90.0
        while z < z_end:
            p = vehicle_params(rng, 'front' if towards else 'rear')
            movers.append(Mover(Thing('vehicle', X + float(rng.uniform(-0.3, 0.3)), z, p), vz=-v if towards else v))
            z += p['l'] + float(rng.uniform(14, 40))
    for _ in range(int(rng.integers(1, 3))):  # parked
        sgn = float(rng.choice([-1, 1]))
        movers.append(Mover(Thing('vehicle', sgn * (rh - 1.1), float(rng.uniform(zmin + 4, 40)),
                                  vehicle_params(rng, str(rng.choice(['rear', 'front']))))))
    if st.cross_z is not None:  # side views crossing on the side street, both directions
        for k in range(int(rng.integers(2, 5))):
            facing = 1 if k % 2 == 0 else -1
            v = float(rng.uniform(5, 10)) * facing
            p = vehicle_params(rng, 'side')
            p['facing'] = facing
            Z = st.cross_z + (-1.8 if facing > 0 else 1.8)
            X0 = float(rng.uniform(-25, 25)) - v * seconds * float(rng.uniform(0.2, 0.6))
            movers.append(Mover(Thing('vehicle', X0, Z, p), vx=v))
    # pedestrians: along the sidewalks (front view walks towards the camera, back view away)
    for _ in range(int(rng.integers(5, 10))):
        sgn = float(rng.choice([-1, 1]))
        p = person_params(rng, str(rng.choice(['front', 'back'])))
        v = 0.0 if not p['walking'] else float(rng.uniform(1.1, 1.7)) * (-1 if p['view'] == 'front' else 1)
        X = sgn * (rh + float(rng.uniform(0.5, sw - 0.3)))
        movers.append(Mover(Thing('pedestrian', X, float(rng.uniform(zmin + 1, 45)), p, float(rng.uniform(0, 6))), vz=v))
    # ... and across the road (side views) on the crosswalk or anywhere
    cz = st.crosswalk_z + 1.5 if st.crosswalk_z is not None else float(rng.uniform(zmin + 3, 25))
    for _ in range(int(rng.integers(2, 4))):
        p = person_params(rng, 'side')
        p['walking'] = True
        v = float(rng.uniform(1.1, 1.6)) * p['facing']
        X0 = float(rng.uniform(-rh - 2, rh + 2)) - v * seconds / 2
        movers.append(Mover(Thing('pedestrian', X0, cz + float(rng.uniform(-1, 1)), p, float(rng.uniform(0, 6))), vx=v))
    # bicycles: along the road edge (seen at an angle) and across
    for _ in range(int(rng.integers(2, 4))):
        sgn = float(rng.choice([-1, 1]))
        p = bicycle_params(rng)
        p['rider'] = True
        p['squash'] = float(rng.uniform(0.3, 0.55))
        v = float(rng.uniform(3.5, 6)) * (1 if sgn > 0 else -1)  # right edge away, left edge towards
        z0 = float(rng.uniform(zmin + 2, 35)) if v > 0 else float(rng.uniform(20, 60))
        movers.append(Mover(Thing('bicycle', sgn * (rh - float(rng.uniform(0.5, 1.0))), z0, p), vz=v))
    for _ in range(int(rng.integers(1, 3))):
        p = bicycle_params(rng)
        p['rider'], p['squash'] = True, 1.0
        v = float(rng.uniform(3, 5)) * p['facing']
        Z = (st.cross_z if st.cross_z is not None else cz + 4) + float(rng.uniform(-1, 1))
        X0 = float(rng.uniform(-10, 10)) - v * seconds / 2
        movers.append(Mover(Thing('bicycle', X0, Z, p), vx=v))
    # still things: signs at the curb, clutter, trees
    for _ in range(int(rng.integers(2, 5))):
        sgn = float(rng.choice([-1, 1]))
        movers.append(Mover(Thing('road_sign', sgn * (rh + float(rng.uniform(0.3, 0.9))), float(rng.uniform(zmin + 2, 60)),
                                  sign_params(rng))))
    for _ in range(int(rng.integers(4, 10))):
        sgn = float(rng.choice([-1, 1]))
        dp = distractor_params(rng)
        X = sgn * (rh + float(rng.uniform(0.2, sw))) if dp['kind'] != 'cone' else float(rng.uniform(-rh, rh))
        movers.append(Mover(Thing('distractor', X, float(rng.uniform(zmin + 1, 80)), dp)))
    for _ in range(int(rng.integers(2, 6))):
        sgn = float(rng.choice([-1, 1]))
        movers.append(Mover(Thing('tree', sgn * (rh + sw * float(rng.uniform(0.6, 1.0))), float(rng.uniform(zmin + 2, 100)),
                                  tree_params(rng))))
    return movers


def render_frame(bg, cam, movers, t, look_seed):
    zmin = max(3.5, cam.z_bottom * 0.85)
    things, ids = [], []
    for i, m in enumerate(movers):
        th = m.at(t)
        if zmin <= th.Z <= 200:
            things.append(th)
            ids.append(i)
    img, placed = compose(bg, cam, things, time_s=t)
    index_of = {id(th): i for th, i in zip(things, ids)}
    objects, dontcare, rows_all = [], [], []
    for pl in placed:
        rows = label_objects([pl], cam)
        for r in rows:
            rows_all.append(r)
            box = [round(float(v), 2) for v in r[4]]
            if r[0] == 'DontCare':
                dontcare.append(box)
            else:
                objects.append(dict(id=index_of[id(pl.thing)], label=r[0], box=box, truncated=r[1], occluded=r[2]))
    # the same camera look on every frame (one gain/colour/noise pattern for the whole clip)
    img = camera_effects(np.random.default_rng([look_seed, VIDEO_STREAM, 1]), img, strength=0.5)
    return img, objects, dontcare, rows_all


def parse_size(v: str):
    try:
        w, h = (int(x) for x in v.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'--size must look like 960x540, got "{v}"')
    if w < 64 or h < 64 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f'--size needs even width and height of at least 64, got "{v}"')
    return w, h


def positive(kind):
    def parse(v):
        try:
            x = kind(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected a positive number, got "{v}"')
        if x <= 0:
            raise argparse.ArgumentTypeError(f'expected a positive number, got "{v}"')
        return x
    return parse


def main(argv=None):
    ap = OneLineErrors(prog='make-sample-video', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seed', type=int, default=7, help='scene seed (default 7; 1, 2, 3 are the dataset splits)')
    ap.add_argument('--out', default='samples/traffic.mp4', help='MP4 file to write')
    ap.add_argument('--gt', default='', help='ground-truth JSON (default: <out without .mp4>.gt.json)')
    ap.add_argument('--seconds', type=positive(float), default=10.0)
    ap.add_argument('--fps', type=positive(int), default=25)
    ap.add_argument('--size', type=parse_size, default=(960, 540), help='WIDTHxHEIGHT (default 960x540)')
    ap.add_argument('--crf', type=int, default=26, help='x264 quality (lower: better and larger)')
    ap.add_argument('--kitti', default='', help='also write DIR/labels and DIR/images (frames decoded from the MP4)')
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args(argv)
    if a.seed < 0:
        ap.error(f'--seed must be >= 0, got {a.seed}')
    if not 0 <= a.crf <= 51:
        ap.error(f'--crf must be from 0 to 51, got {a.crf}')
    ffmpeg = shutil.which('ffmpeg')
    if not ffmpeg:
        print('make-sample-video: ffmpeg not found on PATH (install it: apt-get install ffmpeg)', file=sys.stderr)
        return 1
    W, H = a.size
    gt_path = a.gt or (os.path.splitext(a.out)[0] + '.gt.json')
    for d in {os.path.dirname(os.path.abspath(a.out)), os.path.dirname(os.path.abspath(gt_path))}:
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:
            print(f'make-sample-video: cannot create directory {d}: {e.strerror}', file=sys.stderr)
            return 2
    t0 = time.time()
    rng = np.random.default_rng([a.seed, VIDEO_STREAM])
    cam = make_camera(rng, W, H)
    st = make_street(rng)
    if st.crosswalk_z is None:
        st.crosswalk_z = float(rng.uniform(10, 22))
    bg = render_background(rng, cam, st)
    movers = build_scene(rng, cam, st, a.seconds)
    n = int(round(a.seconds * a.fps))
    tmp_out = a.out + '.part.mp4'
    enc = subprocess.Popen([ffmpeg, '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', f'{W}x{H}',
                            '-r', str(a.fps), '-i', '-', '-c:v', 'libx264', '-preset', 'medium', '-crf', str(a.crf),
                            '-pix_fmt', 'yuv420p', '-g', str(2 * a.fps), '-movflags', '+faststart', tmp_out],
                           stdin=subprocess.PIPE)
    frames, all_rows = [], []
    try:
        for i in range(n):
            t = i / a.fps
            img, objects, dontcare, rows = render_frame(bg, cam, movers, t, a.seed)
            enc.stdin.write(img.tobytes())
            frames.append(dict(frame=i, pts=round(t, 6), objects=objects, dontcare=dontcare))
            all_rows.append(rows)
        enc.stdin.close()
    except BrokenPipeError:
        pass
    if enc.wait() != 0:
        if os.path.exists(tmp_out):
            os.remove(tmp_out)
        print(f'make-sample-video: ffmpeg failed to encode {a.out} (see its message above)', file=sys.stderr)
        return 1
    os.replace(tmp_out, a.out)
    doc = dict(seed=a.seed, width=W, height=H, fps=a.fps, frames=frames,
               classes=['road_sign', 'vehicle', 'pedestrian', 'bicycle'], video=os.path.basename(a.out))
    with open(gt_path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    if a.kitti:
        os.makedirs(os.path.join(a.kitti, 'labels'), exist_ok=True)
        os.makedirs(os.path.join(a.kitti, 'images'), exist_ok=True)
        for i, rows in enumerate(all_rows):
            with open(os.path.join(a.kitti, 'labels', f'{i:06d}.txt'), 'w') as f:
                f.write(kitti_text(rows))
        r = subprocess.run([ffmpeg, '-v', 'error', '-y', '-i', a.out, '-start_number', '0',
                            os.path.join(a.kitti, 'images', '%06d.png')])
        if r.returncode != 0:
            print(f'make-sample-video: ffmpeg could not decode {a.out} into {a.kitti}/images', file=sys.stderr)
            return 1
    if not a.quiet:
        counts = {}
        for fr in frames:
            for o in fr['objects']:
                counts[o['label']] = counts.get(o['label'], 0) + 1
        tracks = len({o['id'] for fr in frames for o in fr['objects']})
        print(f'make-sample-video: wrote {a.out} ({n} frames, {W}x{H} at {a.fps} fps, '
              f'{os.path.getsize(a.out) / 1e6:.2f} MB) and {gt_path} ({tracks} objects; boxes per class: '
              + ', '.join(f'{k} {v}' for k, v in sorted(counts.items())) + f') in {time.time() - t0:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
