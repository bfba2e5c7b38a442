"""A generated tracking sequence in MOTChallenge layout (make_dataset.py --sequence).

    python3 make_dataset.py --sequence --seed 101 --out data/seq-101 [--seconds 12] [--fps 25]

One street seen by a fixed camera, the scene and the movers of the sample clip (sample_video.py's
build_scene, scene.py's rendering): vehicles drive along the lanes and across on the side street,
pedestrians walk along the sidewalks and across the road, bicycles ride along the road edge and
across, so objects cross each other, hide one another partly and fully for a few frames, and enter
and leave the frame. Parked cars, signs, trees and clutter stand still. Written:

    DIR/seqinfo.ini        [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
    DIR/<name>.mp4         the clip, H.264 (libx264, yuv420p) through ffmpeg
    DIR/img1/000001.jpg    its frames, decoded back from the MP4 (what a camera pipeline sees)
    DIR/gt/gt.txt          frame,id,x,y,w,h,conf,class,visibility (frame from 1, MOTChallenge)

gt.txt has one line per frame for every vehicle, pedestrian and bicycle that is drawn and at least
partly inside the frame, with the same id for the whole clip. x,y,w,h is the box clipped to the
frame. class is MOT17's numbering: 1 pedestrian, 3 vehicle (car), 4 bicycle. visibility is the
fraction of the object's own pixels left visible (occlusion) times the fraction of its box inside
the frame. conf is 1 for the objects the dataset labels (make_dataset's KITTI rules: at least
12 px tall at 360 rows, at least 25 % visible, truncated at most 70 %) and 0 for the rest (too
small, mostly or fully hidden, cut by the border): MOTChallenge's "ignore" flag, such boxes count
neither as misses nor, when a track covers one, as false positives. Road signs are not in gt.txt.

Deterministic from the seed; the random stream is keyed apart from the dataset's images and from
the sample clip's, so no sequence frame is a training image.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sample_video import build_scene  # noqa: E402
from scene import camera_effects, compose, label_objects, make_camera, make_street, render_background  # noqa: E402

SEQUENCE_STREAM = 0x5E9A7C  # keys the sequences' random streams apart from the dataset's and the sample clip's
MOT_CLASS = {'pedestrian': 1, 'vehicle': 3, 'bicycle': 4}
JPEG_QSCALE = 2  # ffmpeg -q:v for the img1 frames (2: best)


def gt_rows(placed, cam, ids, frame_no):
    """MOTChallenge lines of one frame: [frame, id, x, y, w, h, conf, class, visibility]."""
    W, H = cam.W, cam.H
    rows = []
    for pl in placed:
        cls = MOT_CLASS.get(pl.label)
        if cls is None:
            continue
        x1, y1, x2, y2 = pl.box
        area = max(1e-6, (x2 - x1) * (y2 - y1))
        cx1, cy1, cx2, cy2 = max(0.0, x1), max(0.0, y1), min(float(W), x2), min(float(H), y2)
        if cx2 - cx1 < 1 or cy2 - cy1 < 1:
            continue
        inside = (cx2 - cx1) * (cy2 - cy1) / area
        labelled = label_objects([pl], cam)
        conf = 1 if labelled and labelled[0][0] != 'DontCare' else 0
        vis = max(0.0, min(1.0, pl.visible * inside))
        rows.append((frame_no, ids[id(pl.thing)], cx1, cy1, cx2 - cx1, cy2 - cy1, conf, cls, vis))
    return rows


def gt_text(rows) -> str:
    return ''.join(f'{f},{i},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c},{k},{v:.3f}\n' for f, i, x, y, w, h, c, k, v in rows)


def seqinfo_text(name, fps, n, W, H) -> str:
    return (f'[Sequence]\nname={name}\nimDir=img1\nframeRate={fps}\nseqLength={n}\n'
            f'imWidth={W}\nimHeight={H}\nimExt=.jpg\n')


def write_sequence(seed: int, out: str, seconds: float, fps: int, W: int, H: int, crf: int, quiet: bool) -> int:
    ffmpeg = shutil.which('ffmpeg')
    if not ffmpeg:
        print('make-dataset: ffmpeg not found on PATH (install it: apt-get install ffmpeg)', file=sys.stderr)
        return 1
    name = f'synth-traffic-{seed}'
    img_dir = os.path.join(out, 'img1')
    try:
        os.makedirs(os.path.join(out, 'gt'), exist_ok=True)
        if os.path.isdir(img_dir):  # frames of an earlier, maybe longer, run must not stay behind
            shutil.rmtree(img_dir)
        os.makedirs(img_dir)
    except OSError as e:
        print(f'make-dataset: cannot create output directory {out}: {e.strerror}', file=sys.stderr)
        return 2
    t0 = time.time()
    rng = np.random.default_rng([seed, SEQUENCE_STREAM])
    cam = make_camera(rng, W, H)
    st = make_street(rng)
    if st.crosswalk_z is None:
        st.crosswalk_z = float(rng.uniform(10, 22))
    bg = render_background(rng, cam, st)
    movers = build_scene(rng, cam, st, seconds)
    zmin = max(3.5, cam.z_bottom * 0.85)
    n = max(1, int(round(seconds * fps)))
    video = os.path.join(out, name + '.mp4')
    part = video + '.part.mp4'
    enc = subprocess.Popen([ffmpeg, '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', f'{W}x{H}',
                            '-r', str(fps), '-i', '-', '-c:v', 'libx264', '-preset', 'medium', '-crf', str(crf),
                            '-pix_fmt', 'yuv420p', '-g', str(2 * fps), '-movflags', '+faststart', part],
                           stdin=subprocess.PIPE)
    rows = []
    try:
        for i in range(n):
            t = i / fps
            things, ids = [], {}
            for k, m in enumerate(movers):
                th = m.at(t)
                if zmin <= th.Z <= 200:
                    things.append(th)
                    ids[id(th)] = k + 1
            img, placed = compose(bg, cam, things, time_s=t)
            rows.extend(gt_rows(placed, cam, ids, i + 1))
            # the same camera look on every frame: one gain, colour cast and noise pattern
            img = camera_effects(np.random.default_rng([seed, SEQUENCE_STREAM, 1]), img, strength=0.5)
            enc.stdin.write(img.tobytes())
        enc.stdin.close()
    except BrokenPipeError:
        pass
    if enc.wait() != 0:
        if os.path.exists(part):
            os.remove(part)
        print(f'make-dataset: ffmpeg failed to encode {video} (see its message above)', file=sys.stderr)
        return 1
    os.replace(part, video)
    r = subprocess.run([ffmpeg, '-v', 'error', '-y', '-i', video, '-start_number', '1', '-q:v', str(JPEG_QSCALE),
                        os.path.join(img_dir, '%06d.jpg')])
    if r.returncode != 0:
        print(f'make-dataset: ffmpeg could not decode {video} into {img_dir}', file=sys.stderr)
        return 1
    with open(os.path.join(out, 'gt', 'gt.txt'), 'w') as f:
        f.write(gt_text(rows))
    with open(os.path.join(out, 'seqinfo.ini'), 'w') as f:
        f.write(seqinfo_text(name, fps, n, W, H))
    if not quiet:
        considered = [r for r in rows if r[6] == 1]
        per_class = {}
        for r in considered:
            per_class[r[7]] = per_class.get(r[7], 0) + 1
        names = {v: k for k, v in MOT_CLASS.items()}
        objects = len({r[1] for r in considered})
        hidden = sum(1 for r in rows if r[8] < 0.05)
        print(f'make-dataset: wrote sequence {name} to {out} ({n} frames, {W}x{H} at {fps} fps; '
              f'{objects} objects, {len(considered)} boxes: '
              + ', '.join(f'{names[k]} {v}' for k, v in sorted(per_class.items()))
              + f'; {len(rows) - len(considered)} ignored, {hidden} of them hidden) in {time.time() - t0:.1f} s')
    return 0
