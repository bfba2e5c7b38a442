"""Writes one split of the synthetic traffic dataset in KITTI format, or a tracking sequence.

    python3 make_dataset.py --seed 3 --count 500 --out data/test
    python3 make_dataset.py --sequence --seed 101 --out data/seq-101 [--seconds 12] [--fps 25]

DIR/images/000000.jpg and DIR/labels/000000.txt, deterministic from the seed (image i is drawn
from the random stream (seed, i), so the result does not depend on the number of processes).
--sequence writes a clip with ground-truth identities in MOTChallenge layout instead (DIR/seqinfo.ini,
DIR/<name>.mp4, DIR/img1/*.jpg, DIR/gt/gt.txt; see sequence.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli import OneLineErrors  # noqa: E402
from scene import kitti_text, render_image  # noqa: E402
from sequence import write_sequence  # noqa: E402

JPEG_QUALITY = 92


def _one(job):
    seed, index, out, width, height, fmt = job
    img, rows = render_image(seed, index, width, height)
    name = f'{index:06d}'
    if fmt == 'png':
        img.save(os.path.join(out, 'images', name + '.png'), optimize=False, compress_level=1)
    else:
        img.save(os.path.join(out, 'images', name + '.jpg'), quality=JPEG_QUALITY)
    with open(os.path.join(out, 'labels', name + '.txt'), 'w') as f:
        f.write(kitti_text(rows))
    return len(rows)


def _positive_int(name):
    def parse(v):
        try:
            n = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{name} must be an integer, got "{v}"')
        if n < 0:
            raise argparse.ArgumentTypeError(f'{name} must be >= 0, got {n}')
        return n
    return parse


def _positive_float(name):
    def parse(v):
        try:
            x = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{name} must be a number, got "{v}"')
        if not x > 0:
            raise argparse.ArgumentTypeError(f'{name} must be above 0, got {v}')
        return x
    return parse


def main(argv=None):
    ap = OneLineErrors(prog='make-dataset', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sequence', action='store_true',
                    help='write a tracking sequence (MOTChallenge layout, a video and its frames) instead of images')
    ap.add_argument('--seed', type=_positive_int('--seed'), default=None,
                    help='random seed of the split (required) or of the sequence (default 101)')
    ap.add_argument('--count', type=_positive_int('--count'), default=None, help='number of images (required without --sequence)')
    ap.add_argument('--out', default=None,
                    help='output directory (images/ and labels/ are created; required without --sequence, '
                         'default data/seq-<seed> with it)')
    ap.add_argument('--seconds', type=_positive_float('--seconds'), default=12.0, help='--sequence: length (default 12)')
    ap.add_argument('--fps', type=_positive_int('--fps'), default=25, help='--sequence: frame rate (default 25)')
    ap.add_argument('--crf', type=_positive_int('--crf'), default=23, help='--sequence: x264 quality (default 23)')
    ap.add_argument('--width', type=_positive_int('--width'), default=640)
    ap.add_argument('--height', type=_positive_int('--height'), default=360)
    ap.add_argument('--format', choices=['jpg', 'png'], default='jpg')
    ap.add_argument('--workers', type=_positive_int('--workers'), default=0, help='processes (default: all cores)')
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args(argv)
    if a.width < 64 or a.height < 64:
        ap.error('--width and --height must be at least 64')
    if a.sequence:
        if a.width % 2 or a.height % 2:
            ap.error('--sequence needs an even --width and --height (H.264, yuv420p)')
        if a.fps < 1 or a.crf > 51:
            ap.error('--fps must be at least 1 and --crf at most 51')
        seed = 101 if a.seed is None else a.seed
        return write_sequence(seed, a.out or f'data/seq-{seed}', a.seconds, a.fps, a.width, a.height, a.crf, a.quiet)
    if a.seed is None or a.count is None or a.out is None:
        ap.error('the following arguments are required: ' +
                 ', '.join(n for n, v in (('--seed', a.seed), ('--count', a.count), ('--out', a.out)) if v is None))
    try:
        os.makedirs(os.path.join(a.out, 'images'), exist_ok=True)
        os.makedirs(os.path.join(a.out, 'labels'), exist_ok=True)
    except OSError as e:
        print(f'make-dataset: cannot create output directory {a.out}: {e.strerror}', file=sys.stderr)
        return 2
    jobs = [(a.seed, i, a.out, a.width, a.height, a.format) for i in range(a.count)]
    workers = a.workers or os.cpu_count() or 1
    t0 = time.time()
    objects = 0
    if workers == 1 or a.count < 8:
        for j in jobs:
            objects += _one(j)
    else:
        with Pool(min(workers, a.count)) as pool:
            for n in pool.imap_unordered(_one, jobs, chunksize=4):
                objects += n
    if not a.quiet:
        print(f'make-dataset: wrote {a.count} images ({objects} labelled boxes) to {a.out} '
              f'(seed {a.seed}, {a.width}x{a.height}) in {time.time() - t0:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
