"""Synthetic road scenes with perspective: background, object layout, composition and labels.

A pinhole camera at height cam_h looks along a straight street (vanishing point (vx, y_h)). Things
stand on the ground at (X, Z) metres (X to the right, Z forward) and are drawn far to near, so that
near things occlude far ones. Each labelled object records its full (amodal) box, truncation and
the fraction of its own pixels left visible; the labels follow from those (see label_objects).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from sprites import (draw_bicycle, draw_distractor, draw_person, draw_sign, draw_tree, draw_vehicle,
                     bicycle_params, distractor_params, person_params, sign_params, tree_params,
                     vehicle_params, jitter, shade)

CLASSES = ('road_sign', 'vehicle', 'pedestrian', 'bicycle')
MIN_LABEL_HEIGHT = 12.0  # pixels at 360 rows; smaller objects become DontCare
MIN_DRAW_HEIGHT = 5.0
MIN_VISIBLE = 0.25  # visible fraction below which an object becomes DontCare


@dataclass
class Camera:
    W: int
    H: int
    f: float
    cam_h: float
    y_h: float
    vx: float

    def ground(self, X, Z):
        return self.vx + self.f * X / Z, self.y_h + self.f * self.cam_h / Z

    def point(self, X, Y, Z):
        return self.vx + self.f * X / Z, self.y_h + self.f * (self.cam_h - Y) / Z

    def ppm(self, Z):
        return self.f / Z

    @property
    def z_bottom(self):
        return self.f * self.cam_h / (self.H - self.y_h)


@dataclass
class Street:
    road_half: float
    lanes: int
    side_w: float
    cross_z: float | None
    cross_w: float
    crosswalk_z: float | None


@dataclass
class Thing:
    kind: str  # vehicle, pedestrian, bicycle, road_sign, distractor, tree
    X: float
    Z: float
    params: dict
    phase: float = 0.0
    label_3d: tuple = field(default_factory=tuple)  # (h, w, l, ry)


def make_camera(rng: np.random.Generator, W: int, H: int) -> Camera:
    s = W / 640.0
    return Camera(W=W, H=H, f=float(rng.uniform(430, 600)) * s, cam_h=float(rng.uniform(1.3, 3.2)),
                  y_h=float(H * rng.uniform(0.3, 0.46)), vx=float(W * rng.uniform(0.3, 0.7)))


def make_street(rng: np.random.Generator) -> Street:
    lanes = int(rng.choice([2, 2, 3, 4]))
    lane_w = float(rng.uniform(3.0, 3.6))
    return Street(road_half=lanes * lane_w / 2, lanes=lanes, side_w=float(rng.uniform(2.5, 5.0)),
                  cross_z=float(rng.uniform(18, 60)) if rng.random() < 0.55 else None,
                  cross_w=float(rng.uniform(7, 11)),
                  crosswalk_z=float(rng.uniform(8, 30)) if rng.random() < 0.4 else None)


# ----------------------------------------------------------------------------------------------
# background

SKIES = [((95, 150, 215), (185, 215, 240)), ((150, 160, 172), (205, 208, 212)), ((70, 90, 140), (235, 160, 110)),
         ((120, 170, 225), (225, 235, 245)), ((110, 115, 125), (165, 165, 170))]


def _quad(d: ImageDraw.ImageDraw, cam: Camera, pts3, fill):
    d.polygon([cam.point(X, Y, Z) for X, Y, Z in pts3], fill=fill)


def render_background(rng: np.random.Generator, cam: Camera, st: Street) -> Image.Image:
    W, H = cam.W, cam.H
    top, bottom = SKIES[rng.integers(len(SKIES))]
    top, bottom = jitter(rng, top, 12), jitter(rng, bottom, 12)
    t = np.linspace(0, 1, H)[:, None, None]
    sky = (np.array(top)[None, None] * (1 - t) + np.array(bottom)[None, None] * t).repeat(W, axis=1)
    img = Image.fromarray(sky.astype(np.uint8), 'RGB')
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 6))):  # clouds
        cx, cy, r = rng.uniform(0, W), rng.uniform(0, cam.y_h * 0.8), rng.uniform(20, 70) * W / 640
        d.ellipse([cx - r * 2, cy - r * 0.5, cx + r * 2, cy + r * 0.5], fill=jitter(rng, (235, 235, 240), 10))
    # distant skyline / hills along the horizon
    x = 0.0
    far_col = jitter(rng, (130, 140, 150), 20)
    while x < W:
        w = rng.uniform(8, 40) * W / 640
        h = rng.uniform(3, 35) * H / 360
        d.rectangle([x, cam.y_h - h, x + w, cam.y_h + 1], fill=jitter(rng, far_col, 10))
        x += w
    far = 3000.0
    zb = max(0.5, cam.z_bottom * 0.5)
    ground_col = jitter(rng, [(95, 125, 70), (120, 115, 95), (110, 110, 108)][rng.integers(3)], 12)
    d.rectangle([0, cam.y_h, W, H], fill=ground_col)
    walk = jitter(rng, (165, 160, 152), 18)
    asphalt = jitter(rng, (88, 88, 92), 14)
    rh, sw = st.road_half, st.side_w
    for sgn in (-1, 1):  # sidewalks and curbs
        _quad(d, cam, [(sgn * rh, 0, zb), (sgn * (rh + sw), 0, zb), (sgn * (rh + sw), 0, far), (sgn * rh, 0, far)], walk)
        _quad(d, cam, [(sgn * rh, 0, zb), (sgn * (rh + 0.25), 0, zb), (sgn * (rh + 0.25), 0, far), (sgn * rh, 0, far)],
              shade(walk, 1.12))
        # paving joints
        z = zb
        while z < 120:
            _quad(d, cam, [(sgn * rh, 0, z), (sgn * (rh + sw), 0, z), (sgn * (rh + sw), 0, z + 0.06),
                           (sgn * rh, 0, z + 0.06)], shade(walk, 0.85))
            z += 1.5
    _quad(d, cam, [(-rh, 0, zb), (rh, 0, zb), (rh, 0, far), (-rh, 0, far)], asphalt)
    if st.cross_z is not None:
        z0, z1 = st.cross_z - st.cross_w / 2, st.cross_z + st.cross_w / 2
        _quad(d, cam, [(-400, 0, z0), (400, 0, z0), (400, 0, z1), (-400, 0, z1)], asphalt)
    for _ in range(int(rng.integers(0, 5))):  # patches
        X, Z = rng.uniform(-rh, rh), rng.uniform(6, 60)
        a, b = rng.uniform(0.5, 2.5), rng.uniform(1, 6)
        _quad(d, cam, [(X, 0, Z), (X + a, 0, Z), (X + a, 0, Z + b), (X, 0, Z + b)], shade(asphalt, rng.uniform(0.8, 1.15)))
    # lane markings
    lane_w = 2 * rh / st.lanes
    white = jitter(rng, (230, 230, 225), 10)
    yellow_centre = rng.random() < 0.3
    for i in range(1, st.lanes):
        X = -rh + i * lane_w
        centre = i * 2 == st.lanes
        col = (225, 190, 40) if (centre and yellow_centre) else white
        if centre and rng.random() < 0.5:
            _quad(d, cam, [(X - 0.06, 0, zb), (X + 0.06, 0, zb), (X + 0.06, 0, far), (X - 0.06, 0, far)], col)
        else:
            z = zb + rng.uniform(0, 9)
            while z < 200:
                _quad(d, cam, [(X - 0.07, 0, z), (X + 0.07, 0, z), (X + 0.07, 0, z + 3), (X - 0.07, 0, z + 3)], col)
                z += 9
    for sgn in (-1, 1):
        X = sgn * (rh - 0.3)
        _quad(d, cam, [(X - 0.07, 0, zb), (X + 0.07, 0, zb), (X + 0.07, 0, far), (X - 0.07, 0, far)], white)
    if st.crosswalk_z is not None:
        z = st.crosswalk_z
        X = -rh
        while X < rh:
            _quad(d, cam, [(X, 0, z), (X + 0.5, 0, z), (X + 0.5, 0, z + 3), (X, 0, z + 3)], white)
            X += 1.0
    # building facades along both sides
    for sgn in (-1, 1):
        Xb = sgn * (rh + sw + rng.uniform(0, 3))
        z = max(1.0, cam.z_bottom * 0.3)
        segs = []
        while z < 160:
            length = rng.uniform(8, 30)
            segs.append((z, z + length))
            z += length + (rng.uniform(0, 6) if rng.random() < 0.4 else 0)
        for z0, z1 in reversed(segs):
            if st.cross_z is not None and z1 > st.cross_z - st.cross_w / 2 and z0 < st.cross_z + st.cross_w / 2:
                continue
            if rng.random() < 0.15:
                continue
            hb = rng.uniform(4, 25)
            col = jitter(rng, [(180, 160, 140), (150, 80, 60), (200, 200, 195), (120, 120, 130), (210, 190, 150),
                               (90, 100, 110), (170, 180, 160)][rng.integers(7)], 18)
            _quad(d, cam, [(Xb, 0, z0), (Xb, 0, z1), (Xb, hb, z1), (Xb, hb, z0)], col)
            win = jitter(rng, (60, 75, 95), 20)
            floors = int(hb // 3)
            if floors > 0 and z0 < 120:
                wz = rng.uniform(1.5, 3.5)
                for fl in range(floors):
                    y0 = fl * 3 + (1.0 if fl > 0 else 0.8)
                    zz = z0 + 0.8
                    while zz + 1.2 < z1:
                        c = win if fl > 0 or rng.random() < 0.5 else shade(col, 0.5)
                        _quad(d, cam, [(Xb, y0, zz), (Xb, y0, zz + 1.2), (Xb, y0 + 1.6, zz + 1.2), (Xb, y0 + 1.6, zz)], c)
                        zz += wz
            if rng.random() < 0.3 and z0 < 60:  # poster / shop sign on the wall
                ys = rng.uniform(2.5, 4)
                _quad(d, cam, [(Xb, ys, z0 + 1), (Xb, ys, z1 - 1), (Xb, ys + 0.8, z1 - 1), (Xb, ys + 0.8, z0 + 1)],
                      jitter(rng, (200, 60, 60), 60))
    # texture: low-frequency shading and fine grain
    arr = np.asarray(img).astype(np.float32)
    grain = noise_field(rng, H, W, 1) * np.float32(4.0)
    arr += grain
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), 'RGB')


# ----------------------------------------------------------------------------------------------
# layout

def _z(rng, lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def layout_things(rng: np.random.Generator, cam: Camera, st: Street) -> list[Thing]:
    things: list[Thing] = []
    zmin = max(3.5, cam.z_bottom * 0.85)
    zmax = 110.0
    rh, sw = st.road_half, st.side_w
    lane_w = 2 * rh / st.lanes
    # vehicles on the lanes: the left half comes towards the camera, the right half drives away
    for _ in range(int(rng.integers(1, 9))):
        lane = int(rng.integers(st.lanes))
        X = -rh + (lane + 0.5) * lane_w + rng.uniform(-0.4, 0.4)
        view = 'front' if X < 0 and rng.random() < 0.8 else 'rear'
        things.append(Thing('vehicle', X, _z(rng, zmin + 2, zmax), vehicle_params(rng, view)))
    # parked vehicles along the curbs
    for _ in range(int(rng.integers(0, 4))):
        sgn = rng.choice([-1, 1])
        things.append(Thing('vehicle', float(sgn * (rh - 1.1)), _z(rng, zmin + 2, 70),
                            vehicle_params(rng, str(rng.choice(['rear', 'front'])))))
    # crossing traffic on the cross street (side views)
    if st.cross_z is not None:
        for _ in range(int(rng.integers(0, 4))):
            Z = st.cross_z + rng.uniform(-st.cross_w / 2 + 1.5, st.cross_w / 2 - 1.5)
            X = rng.uniform(-25, 25)
            things.append(Thing('vehicle', float(X), float(Z), vehicle_params(rng, 'side')))
            if rng.random() < 0.4:
                things.append(Thing('bicycle', float(X + rng.uniform(-8, 8)), float(Z + rng.uniform(-1, 1)),
                                    bicycle_params(rng)))
    else:
        for _ in range(int(rng.integers(0, 2))):  # a car turning or parked across
            things.append(Thing('vehicle', float(rng.uniform(-rh, rh)), _z(rng, zmin + 4, 60), vehicle_params(rng, 'side')))
    # pedestrians on the sidewalks, some crossing
    for _ in range(int(rng.integers(1, 10))):
        sgn = rng.choice([-1, 1])
        X = sgn * (rh + rng.uniform(0.5, sw - 0.3))
        things.append(Thing('pedestrian', float(X), _z(rng, zmin, zmax), person_params(rng)))
        if rng.random() < 0.2:  # a group: neighbours overlap
            things.append(Thing('pedestrian', float(X + rng.uniform(-0.8, 0.8)), float(things[-1].Z + rng.uniform(-0.6, 0.6)),
                                person_params(rng)))
    for _ in range(int(rng.integers(0, 3))):
        Z = (st.crosswalk_z + 1.5) if st.crosswalk_z is not None else _z(rng, zmin, 60)
        things.append(Thing('pedestrian', float(rng.uniform(-rh, rh)), float(Z + rng.uniform(-1, 1)),
                            person_params(rng, 'side')))
    # bicycles: on the road edge (seen at an angle), parked on the sidewalk, crossing
    for _ in range(int(rng.integers(0, 5))):
        sgn = rng.choice([-1, 1])
        bp = bicycle_params(rng)
        where = rng.random()
        if where < 0.5:
            X = sgn * (rh - rng.uniform(0.5, 1.2))
            bp['squash'] = float(rng.uniform(0.3, 0.6))
        elif where < 0.75:
            X = sgn * (rh + rng.uniform(0.4, sw - 0.4))
            if rng.random() < 0.5:
                bp['rider'] = False
        else:
            X = rng.uniform(-rh, rh)
            bp['squash'] = 1.0
        things.append(Thing('bicycle', float(X), _z(rng, zmin, 80), bp))
    # road signs at the curb
    for _ in range(int(rng.integers(1, 6))):
        sgn = rng.choice([-1, 1])
        X = sgn * (rh + rng.uniform(0.3, 0.9))
        things.append(Thing('road_sign', float(X), _z(rng, zmin + 1, 90), sign_params(rng)))
    # distractors and trees
    for _ in range(int(rng.integers(3, 14))):
        sgn = rng.choice([-1, 1])
        dp = distractor_params(rng)
        X = sgn * (rh + rng.uniform(0.2, sw)) if dp['kind'] != 'cone' else rng.uniform(-rh, rh)
        things.append(Thing('distractor', float(X), _z(rng, zmin, zmax), dp))
    for _ in range(int(rng.integers(0, 7))):
        sgn = rng.choice([-1, 1])
        things.append(Thing('tree', float(sgn * (rh + sw * rng.uniform(0.6, 1.0))), _z(rng, zmin, zmax), tree_params(rng)))
    return things


def _ry(t: Thing) -> float:
    p = t.params
    if t.kind == 'vehicle':
        return {'rear': 0.0, 'front': math.pi, 'side': math.pi / 2 * p['facing']}[p['view']] - math.pi / 2
    if t.kind in ('pedestrian',):
        return {'front': math.pi / 2, 'back': -math.pi / 2, 'side': 0.0 if p['facing'] > 0 else math.pi}[p['view']]
    if t.kind == 'bicycle':
        return 0.0 if p['facing'] > 0 else math.pi
    return -math.pi / 2


def _dims(t: Thing):
    p = t.params
    if t.kind == 'vehicle':
        return p['h'], p['w'], p['l']
    if t.kind == 'pedestrian':
        return p['h'], 0.5, 0.4
    if t.kind == 'bicycle':
        return (1.75 if p['rider'] else 1.05), 0.5, p['base'] + 2 * p['r']
    if t.kind == 'road_sign':
        return p['size'], p['size'] * p['aspect'], 0.05
    return 0, 0, 0


def sprites_for(t: Thing, ppm: float, time_s: float = 0.0):
    """[(Sprite, labelled?)] for one thing at scale ppm (pixels per metre)."""
    if t.kind == 'vehicle':
        return [(draw_vehicle(t.params, ppm), True)]
    if t.kind == 'pedestrian':
        return [(draw_person(t.params, ppm, phase_offset=t.phase + time_s * 5.5), True)]
    if t.kind == 'bicycle':
        return [(draw_bicycle(t.params, ppm, phase_offset=t.phase + time_s * 6.0), True)]
    if t.kind == 'road_sign':
        return [(s, True) for s in draw_sign(t.params, ppm)]
    if t.kind == 'tree':
        return [(draw_tree(t.params, ppm), False)]
    return [(draw_distractor(t.params, ppm), False)]


# ----------------------------------------------------------------------------------------------
# composition

@dataclass
class Placed:
    label: str
    box: tuple  # full box in image pixels (may extend past the borders)
    visible: float
    thing: Thing


def compose(bg: Image.Image, cam: Camera, things: list[Thing], time_s: float = 0.0):
    """Draws things far to near over bg. Returns (image, [Placed])."""
    W, H = cam.W, cam.H
    img = bg.copy()
    owner = np.full((H, W), -1, dtype=np.int32)
    own_px: list[int] = []
    entries = []
    shadow = ImageDraw.Draw(img, 'RGBA')
    min_draw = MIN_DRAW_HEIGHT * H / 360.0
    for t in sorted(things, key=lambda t: -t.Z):
        if t.Z <= 0.5:
            continue
        ppm = cam.ppm(t.Z)
        h_est = _dims(t)[0] if t.kind not in ('road_sign', 'tree', 'distractor') else 1.0
        if h_est * ppm < min_draw:
            continue
        gx, gy = cam.ground(t.X, t.Z)
        if gx < -W or gx > 2 * W or gy - 15 * ppm > H:
            continue
        if t.kind == 'vehicle':  # ground shadow
            w = (t.params['l'] if t.params['view'] == 'side' else t.params['w']) * ppm
            shadow.ellipse([gx - w * 0.55, gy - 0.12 * ppm, gx + w * 0.55, gy + 0.1 * ppm], fill=(0, 0, 0, 90))
        first_idx = len(entries)  # entries of this thing (a pole with two panels has two)
        for sp, labelled in sprites_for(t, ppm, time_s):
            ox, oy = int(round(gx - sp.anchor[0])), int(round(gy - sp.anchor[1]))
            img.paste(sp.image, (ox, oy), sp.image)
            alpha = np.asarray(sp.image.getchannel('A')) > 127
            # region of the owner map under the sprite
            x0, y0 = max(0, ox), max(0, oy)
            x1, y1 = min(W, ox + sp.image.width), min(H, oy + sp.image.height)
            if x1 <= x0 or y1 <= y0:
                continue
            a = alpha[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
            if labelled:
                bx1, by1, bx2, by2 = sp.box
                box = (ox + bx1, oy + by1, ox + bx2, oy + by2)
                # own pixels: opaque pixels inside its labelled box (a sign's pole does not count)
                m = np.zeros_like(a)
                ix1, iy1 = int(max(x0, math.floor(box[0]))), int(max(y0, math.floor(box[1])))
                ix2, iy2 = int(min(x1, math.ceil(box[2]))), int(min(y1, math.ceil(box[3])))
                if ix2 > ix1 and iy2 > iy1:
                    m[iy1 - y0:iy2 - y0, ix1 - x0:ix2 - x0] = a[iy1 - y0:iy2 - y0, ix1 - x0:ix2 - x0]
                idx = len(entries)
                entries.append((t, box))
                own_px.append(int(m.sum()))
                region = owner[y0:y1, x0:x1]
                region[a & (region < first_idx)] = -2  # occluder part (pole, etc.), not our own panels
                region[m] = idx
            else:
                owner[y0:y1, x0:x1][a] = -2
    counts = np.bincount(owner[owner >= 0].ravel(), minlength=len(entries)) if entries else np.zeros(0)
    placed = []
    for i, (t, box) in enumerate(entries):
        vis = float(counts[i]) / own_px[i] if own_px[i] > 0 else 0.0
        placed.append(Placed(t.kind, box, vis, t))
    return img, placed


def label_objects(placed: list[Placed], cam: Camera):
    """KITTI rows: (type, truncated, occluded, alpha, (x1,y1,x2,y2), (h,w,l), (x,y,z), ry)."""
    W, H = cam.W, cam.H
    min_h = MIN_LABEL_HEIGHT * H / 360.0
    rows = []
    for pl in placed:
        x1, y1, x2, y2 = pl.box
        area = max(1e-6, (x2 - x1) * (y2 - y1))
        cx1, cy1, cx2, cy2 = max(0.0, x1), max(0.0, y1), min(float(W), x2), min(float(H), y2)
        if cx2 - cx1 < 1 or cy2 - cy1 < 1:
            continue
        trunc = 1.0 - (cx2 - cx1) * (cy2 - cy1) / area
        box = (cx1, cy1, cx2, cy2)
        h_px = cy2 - cy1
        if h_px < MIN_DRAW_HEIGHT * H / 360.0 or pl.visible < 0.05:
            continue
        if h_px < min_h or pl.visible < MIN_VISIBLE or trunc > 0.7:
            rows.append(('DontCare', -1, -1, -10.0, box, (-1, -1, -1), (-1000, -1000, -1000), -10.0))
            continue
        occl = 0 if pl.visible > 0.85 else 1 if pl.visible > 0.5 else 2
        t = pl.thing
        ry = _ry(t)
        alpha = ry - math.atan2(t.X, t.Z)
        alpha = (alpha + math.pi) % (2 * math.pi) - math.pi
        h3, w3, l3 = _dims(t)
        y3 = cam.cam_h - (t.params['height'] if t.kind == 'road_sign' else 0.0)
        rows.append((pl.label, round(trunc, 2), occl, alpha, box, (h3, w3, l3), (t.X, y3, t.Z), ry))
    return rows


def kitti_text(rows) -> str:
    out = []
    for typ, tr, oc, al, b, dims, loc, ry in rows:
        out.append(f'{typ} {tr:.2f} {oc:d} {al:.2f} {b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f} '
                   f'{dims[0]:.2f} {dims[1]:.2f} {dims[2]:.2f} {loc[0]:.2f} {loc[1]:.2f} {loc[2]:.2f} {ry:.2f}')
    return '\n'.join(out) + ('\n' if out else '')


# ----------------------------------------------------------------------------------------------
# camera effects

_NOISE_BANK: dict = {}


def noise_field(rng: np.random.Generator, H: int, W: int, C: int) -> np.ndarray:
    """Unit gaussian noise (H, W, C) float32: a random window of a fixed per-size bank (fast)."""
    key = (H, W)
    if key not in _NOISE_BANK:
        bank_rng = np.random.default_rng(12345)
        _NOISE_BANK[key] = [bank_rng.standard_normal((H + 97, W + 131, 3), dtype=np.float32) for _ in range(3)]
    bank = _NOISE_BANK[key][int(rng.integers(3))]
    y, x = int(rng.integers(98)), int(rng.integers(132))
    return bank[y:y + H, x:x + W, :C]


def camera_effects(rng: np.random.Generator, img: Image.Image, strength: float = 1.0) -> Image.Image:
    """Blur, exposure/colour cast/gamma/contrast, vignette, sensor noise and JPEG artifacts."""
    if rng.random() < 0.35 * strength:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.2))))
    gain = rng.uniform(0.65, 1.25)
    cast = rng.uniform(0.9, 1.1, size=3)
    gamma = rng.uniform(0.8, 1.25)
    contrast = rng.uniform(0.75, 1.15)
    x = np.arange(256) / 255.0
    lut = []
    for c in range(3):  # per-channel point operation as one lookup table
        v = np.clip(x * gain * cast[c], 0, 1) ** gamma
        v = (v - 0.5) * contrast + 0.5
        lut.extend(np.clip(v * 255 + 0.5, 0, 255).astype(np.uint8).tolist())
    img = img.point(lut)
    H, W = img.height, img.width
    arr = np.asarray(img).astype(np.float32)
    if rng.random() < 0.3:  # vignette
        yy, xx = np.ogrid[0:H, 0:W]
        r = ((xx - W / 2) / W) ** 2 + ((yy - H / 2) / H) ** 2
        arr *= (1 - rng.uniform(0.2, 0.6) * r).astype(np.float32)[..., None]
    sigma = rng.uniform(0.5, 6.0) * strength
    arr += noise_field(rng, H, W, 3) * np.float32(sigma)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), 'RGB')
    if rng.random() < 0.5 * strength:
        buf = io.BytesIO()
        out.save(buf, format='JPEG', quality=int(rng.integers(30, 90)))
        buf.seek(0)
        out = Image.open(buf).convert('RGB')
    return out


def render_image(seed: int, index: int, W: int = 640, H: int = 360):
    """One dataset image and its KITTI rows, deterministic from (seed, index)."""
    rng = np.random.default_rng([int(seed), int(index), 0x7A11C])
    cam = make_camera(rng, W, H)
    st = make_street(rng)
    bg = render_background(rng, cam, st)
    things = layout_things(rng, cam, st)
    img, placed = compose(bg, cam, things)
    rows = label_objects(placed, cam)
    img = camera_effects(rng, img)
    return img, rows
