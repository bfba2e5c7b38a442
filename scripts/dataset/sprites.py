"""Object sprites for the synthetic traffic scenes.

Every object is drawn in its own metric frame (x to the right, y up, metres, origin on the ground
under the object's centre) onto a supersampled RGBA canvas, then shrunk with antialiasing.
A sprite knows its ground anchor (where the origin landed, in sprite pixels) and the box that the
label covers (the tight alpha box, or an explicit box such as a sign panel without its pole).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SUPERSAMPLE = 3
_FONT = ImageFont.load_default()


def jitter(rng: np.random.Generator, rgb, amount: int = 18):
    d = rng.integers(-amount, amount + 1, size=3)
    return tuple(min(255, max(0, int(c) + int(e))) for c, e in zip(rgb, d))


def shade(rgb, k: float):
    return tuple(min(255, max(0, int(c * k))) for c in rgb[:3])


class Sprite:
    def __init__(self, image: Image.Image, anchor, box):
        self.image = image  # RGBA, final resolution
        self.anchor = anchor  # (x, y) sprite pixels of the ground origin
        self.box = box  # (x1, y1, x2, y2) sprite pixels, the labelled extent


class Pen:
    """Draws in metres onto a supersampled RGBA canvas."""

    def __init__(self, ppm: float, xmin: float, xmax: float, ymax: float, ymin: float = -0.05):
        # finer supersampling for small sprites, where antialiasing matters most
        self.ss = SUPERSAMPLE if ppm < 12 else 2 if ppm < 40 else 1
        self.s = ppm * self.ss
        self.pad = 2 * self.ss
        self.xmin, self.ymax = xmin, ymax
        w = int(math.ceil((xmax - xmin) * self.s)) + 2 * self.pad
        h = int(math.ceil((ymax - ymin) * self.s)) + 2 * self.pad
        # round the canvas up to a multiple of the supersampling factor
        w += (-w) % self.ss
        h += (-h) % self.ss
        self.img = Image.new('RGBA', (w, h), (0, 0, 0, 0))
        self.d = ImageDraw.Draw(self.img)

    def p(self, x: float, y: float):
        return ((x - self.xmin) * self.s + self.pad, (self.ymax - y) * self.s + self.pad)

    def px(self, metres: float) -> int:
        return max(1, int(round(metres * self.s)))

    def poly(self, pts, fill, outline=None):
        self.d.polygon([self.p(x, y) for x, y in pts], fill=fill, outline=outline)

    def rect(self, x1, y1, x2, y2, fill, outline=None, width=0.0):
        a, b = self.p(min(x1, x2), max(y1, y2)), self.p(max(x1, x2), min(y1, y2))
        if outline is not None and width > 0:
            self.d.rectangle([a, b], fill=fill, outline=outline, width=self.px(width))
        else:
            self.d.rectangle([a, b], fill=fill)

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width=0.0):
        a, b = self.p(cx - rx, cy + ry), self.p(cx + rx, cy - ry)
        if b[0] - a[0] < 1 or b[1] - a[1] < 1:
            return
        self.d.ellipse([a, b], fill=fill, outline=outline, width=self.px(width) if outline is not None else 0)

    def line(self, pts, width, fill, round_caps=True):
        w = self.px(width)
        xy = [self.p(x, y) for x, y in pts]
        self.d.line(xy, fill=fill, width=w, joint='curve')
        if round_caps and w > 2:
            r = w / 2.0
            for x, y in (xy[0], xy[-1]):
                self.d.ellipse([x - r, y - r, x + r, y + r], fill=fill)

    def text(self, cx, cy, height, txt, fill):
        tmp = Image.new('L', (len(txt) * 8 + 6, 16), 0)
        ImageDraw.Draw(tmp).text((3, 2), txt, fill=255, font=_FONT)
        bb = tmp.getbbox()
        if bb is None:
            return
        tmp = tmp.crop(bb)
        hpx = max(2, int(round(height * self.s)))
        wpx = max(2, int(round(tmp.width * hpx / tmp.height)))
        mask = tmp.resize((wpx, hpx), Image.BILINEAR)
        x, y = self.p(cx, cy)
        self.img.paste(Image.new('RGBA', (wpx, hpx), fill if len(fill) == 4 else fill + (255,)),
                       (int(x - wpx / 2), int(y - hpx / 2)), mask)

    def finish(self, box_m=None) -> Sprite:
        ss = self.ss
        img = self.img.resize((self.img.width // ss, self.img.height // ss), Image.BOX)
        ax, ay = self.p(0.0, 0.0)
        anchor = (ax / ss, ay / ss)
        if box_m is not None:
            x1, y1 = self.p(box_m[0], box_m[3])
            x2, y2 = self.p(box_m[2], box_m[1])
            box = (x1 / ss, y1 / ss, x2 / ss, y2 / ss)
        else:
            alpha = np.asarray(img.getchannel('A'))
            ys, xs = np.nonzero(alpha > 60)
            if len(xs) == 0:
                box = (0.0, 0.0, 0.0, 0.0)
            else:
                box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        return Sprite(img, anchor, box)


# ----------------------------------------------------------------------------------------------
# palettes

CAR_COLOURS = [(235, 235, 235), (25, 25, 28), (160, 163, 168), (95, 98, 104), (170, 25, 25),
               (30, 60, 150), (20, 35, 70), (40, 95, 50), (220, 190, 40), (225, 110, 20),
               (105, 70, 45), (120, 20, 40), (70, 140, 170), (200, 200, 190)]
CLOTHES = [(30, 30, 35), (60, 60, 70), (200, 200, 200), (240, 240, 235), (150, 30, 30),
           (30, 50, 120), (50, 90, 160), (40, 100, 60), (120, 90, 60), (200, 160, 60),
           (230, 120, 150), (100, 40, 120), (210, 90, 30), (80, 120, 140), (170, 170, 120)]
SKIN = [(250, 215, 180), (225, 180, 140), (190, 140, 100), (140, 95, 60), (95, 65, 45)]
HAIR = [(20, 15, 10), (60, 40, 25), (120, 85, 40), (200, 170, 100), (150, 150, 150), (90, 30, 20)]
GLASS = [(40, 50, 65), (60, 75, 90), (30, 35, 45), (85, 100, 115)]


# ----------------------------------------------------------------------------------------------
# vehicles

def vehicle_params(rng: np.random.Generator, view: str | None = None):
    kind = rng.choice(['car', 'car', 'car', 'car', 'suv', 'van', 'truck', 'bus'])
    dims = {'car': (1.8, 1.45, 4.4), 'suv': (1.9, 1.75, 4.7), 'van': (2.0, 2.1, 5.2),
            'truck': (2.5, 3.3, 8.5), 'bus': (2.55, 3.1, 11.0)}[kind]
    k = rng.uniform(0.92, 1.08)
    w, h, l = dims[0] * k, dims[1] * rng.uniform(0.93, 1.07), dims[2] * k
    if view is None:
        view = rng.choice(['rear', 'front', 'side'], p=[0.45, 0.3, 0.25])
    colour = jitter(rng, CAR_COLOURS[rng.integers(len(CAR_COLOURS))], 15)
    cargo = jitter(rng, [(235, 235, 235), (200, 200, 200), (180, 40, 30), (40, 80, 150),
                         (230, 200, 60)][rng.integers(5)], 12)
    return dict(kind=str(kind), w=w, h=h, l=l, view=str(view), colour=colour, cargo=cargo,
                glass=jitter(rng, GLASS[rng.integers(len(GLASS))], 8),
                facing=int(rng.choice([-1, 1])), lights_on=bool(rng.random() < 0.25),
                plate=(240, 240, 240) if rng.random() < 0.7 else (240, 200, 40),
                stripe=bool(rng.random() < 0.4))


def draw_vehicle(p: dict, ppm: float) -> Sprite:
    if p['view'] == 'side':
        return _vehicle_side(p, ppm)
    return _vehicle_end(p, ppm)


def _vehicle_end(p, ppm):
    w, h, kind = p['w'], p['h'], p['kind']
    pen = Pen(ppm, -w / 2 - 0.05, w / 2 + 0.05, h + 0.02)
    body, dark = p['colour'], shade(p['colour'], 0.6)
    tyre = (22, 22, 24)
    # wheels peeking under the body
    for s in (-1, 1):
        pen.rect(s * w * 0.42 - 0.13, 0.0, s * w * 0.42 + 0.13, 0.42, tyre)
    if kind in ('car', 'suv'):
        belt = h * (0.52 if kind == 'car' else 0.56)
        pen.rect(-w / 2, 0.2, w / 2, belt, body)
        pen.poly([(-w / 2 + 0.04, belt), (w / 2 - 0.04, belt), (w * 0.36, h), (-w * 0.36, h)], body)
        pen.poly([(-w * 0.43, belt + 0.05), (w * 0.43, belt + 0.05), (w * 0.33, h - 0.07),
                  (-w * 0.33, h - 0.07)], p['glass'])
        # mirrors
        for s in (-1, 1):
            pen.rect(s * w / 2 - 0.02, belt, s * (w / 2 + 0.1), belt + 0.12, dark)
    elif kind == 'van':
        pen.rect(-w / 2, 0.2, w / 2, h - 0.05, body)
        pen.poly([(-w / 2 + 0.05, h - 0.05), (w / 2 - 0.05, h - 0.05), (w / 2 - 0.12, h), (-w / 2 + 0.12, h)], body)
        pen.rect(-w * 0.42, h * 0.6, w * 0.42, h * 0.9, p['glass'])
        if p['view'] == 'rear':
            pen.line([(0, 0.35), (0, h * 0.93)], 0.02, dark)
    else:  # truck / bus
        top = p['cargo'] if kind == 'truck' else body
        pen.rect(-w / 2, 0.3, w / 2, h, top)
        if kind == 'bus' or p['view'] == 'front':
            pen.rect(-w * 0.44, h * 0.55, w * 0.44, h * 0.9, p['glass'])
        if kind == 'truck' and p['view'] == 'rear':
            pen.line([(0, 0.45), (0, h * 0.97)], 0.025, shade(top, 0.55))
            for s in (-1, 1):
                pen.line([(s * w * 0.25, h * 0.4), (s * w * 0.25, h * 0.55)], 0.05, shade(top, 0.45))
        if p['stripe']:
            pen.rect(-w / 2, h * 0.42, w / 2, h * 0.48, shade(top, 0.5))
    # bumper, plate, lights
    pen.rect(-w / 2 - 0.01, 0.2, w / 2 + 0.01, 0.38, (35, 35, 38))
    pen.rect(-0.26, 0.4, 0.26, 0.52, p['plate'], outline=(30, 30, 30), width=0.015)
    ly = h * (0.42 if kind in ('car', 'suv') else 0.28)
    if p['view'] == 'rear':
        col = (235, 40, 35) if p['lights_on'] else (170, 25, 25)
        for s in (-1, 1):
            pen.rect(s * w * 0.47, ly - 0.05, s * w * 0.33, ly + 0.09, col)
    else:
        col = (255, 250, 210) if p['lights_on'] else (215, 215, 205)
        for s in (-1, 1):
            pen.rect(s * w * 0.46, ly - 0.04, s * w * 0.3, ly + 0.07, col)
        pen.rect(-w * 0.25, ly - 0.1, w * 0.25, ly + 0.06, (30, 30, 32))
    return pen.finish()


def _wheel(pen: Pen, cx, r, rim=(170, 170, 175)):
    pen.ellipse(cx, r, r, r, fill=(20, 20, 22))
    pen.ellipse(cx, r, r * 0.58, r * 0.58, fill=rim)
    pen.ellipse(cx, r, r * 0.2, r * 0.2, fill=shade(rim, 0.6))


def _vehicle_side(p, ppm):
    l, h, kind, f = p['l'], p['h'], p['kind'], p['facing']
    pen = Pen(ppm, -l / 2 - 0.05, l / 2 + 0.05, h + 0.02)
    body, dark = p['colour'], shade(p['colour'], 0.6)

    def X(x):  # x measured from the rear (0) to the front (l)
        return (x - l / 2) * f

    r = 0.33 if kind in ('car', 'suv') else 0.4 if kind == 'van' else 0.52
    wheels = [0.17 * l, 0.82 * l] if kind != 'bus' else [0.2 * l, 0.85 * l]
    if kind in ('car', 'suv'):
        belt = h * (0.55 if kind == 'car' else 0.58)
        pen.poly([(X(0.0), 0.22), (X(0.0), belt), (X(l * 0.98), belt - 0.05), (X(l), 0.35), (X(l * 0.97), 0.22)], body)
        cab = [(X(l * 0.2), belt), (X(l * 0.3), h), (X(l * 0.62), h), (X(l * 0.78), belt - 0.03)]
        pen.poly(cab, body)
        pen.poly([(X(l * 0.24), belt + 0.04), (X(l * 0.32), h - 0.06), (X(l * 0.61), h - 0.06),
                  (X(l * 0.73), belt + 0.02)], p['glass'])
        pen.line([(X(l * 0.47), belt), (X(l * 0.47), h - 0.04)], 0.07, body, round_caps=False)
        pen.line([(X(l * 0.47), 0.3), (X(l * 0.47), belt - 0.02)], 0.015, dark, round_caps=False)
        pen.line([(X(l * 0.21), 0.3), (X(l * 0.21), belt - 0.02)], 0.015, dark, round_caps=False)
    elif kind == 'van':
        pen.poly([(X(0.0), 0.25), (X(0.0), h), (X(l * 0.8), h), (X(l), h * 0.55), (X(l), 0.25)], body)
        pen.poly([(X(l * 0.78), h * 0.62), (X(l * 0.8), h * 0.95), (X(l * 0.97), h * 0.58)], p['glass'])
        for a, b in ((0.08, 0.3), (0.34, 0.56), (0.6, 0.75)):
            pen.rect(X(l * a), h * 0.62, X(l * b), h * 0.9, p['glass'])
    elif kind == 'truck':
        pen.rect(X(0.0), 0.45, X(l * 0.76), h, p['cargo'])
        if p['stripe']:
            pen.rect(X(0.02), h * 0.55, X(l * 0.74), h * 0.65, shade(p['cargo'], 0.5))
        pen.poly([(X(l * 0.78), 0.35), (X(l * 0.78), h * 0.85), (X(l * 0.93), h * 0.85), (X(l), h * 0.5), (X(l), 0.35)], body)
        pen.poly([(X(l * 0.86), h * 0.55), (X(l * 0.86), h * 0.8), (X(l * 0.93), h * 0.8), (X(l * 0.98), h * 0.55)], p['glass'])
        pen.rect(X(0.02), 0.35, X(l * 0.78), 0.5, (40, 40, 42))
    else:  # bus
        pen.rect(X(0.0), 0.3, X(l), h, body)
        for i in range(6):
            a = 0.05 + i * 0.15
            pen.rect(X(l * a), h * 0.55, X(l * (a + 0.12)), h * 0.88, p['glass'])
        pen.rect(X(l * 0.93), 0.45, X(l * 0.99), h * 0.88, p['glass'])
        if p['stripe']:
            pen.rect(X(0.0), h * 0.4, X(l), h * 0.47, shade(body, 0.5))
    # wheel arches, wheels, lights
    for wx in wheels:
        pen.ellipse(X(wx), r, r * 1.12, r * 1.12, fill=(30, 30, 32))
        _wheel(pen, X(wx), r)
    pen.rect(X(0.0), 0.45, X(0.08), 0.62, (200, 30, 30))
    pen.rect(X(l * 0.96), 0.48, X(l), 0.62, (240, 240, 220) if p['lights_on'] else (215, 215, 200))
    return pen.finish()


# ----------------------------------------------------------------------------------------------
# people

def person_params(rng: np.random.Generator, view: str | None = None):
    child = rng.random() < 0.12
    height = rng.uniform(1.05, 1.35) if child else rng.uniform(1.55, 1.95)
    if view is None:
        view = rng.choice(['front', 'back', 'side'], p=[0.3, 0.3, 0.4])
    short_sleeves = bool(rng.random() < 0.35)
    return dict(h=height, view=str(view), facing=int(rng.choice([-1, 1])),
                skin=jitter(rng, SKIN[rng.integers(len(SKIN))], 10),
                hair=jitter(rng, HAIR[rng.integers(len(HAIR))], 10),
                top=jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 20),
                legs=jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 20),
                shoes=jitter(rng, [(20, 20, 20), (230, 230, 230), (90, 60, 40)][rng.integers(3)], 10),
                short_sleeves=short_sleeves, skirt=bool(rng.random() < 0.15), coat=bool(rng.random() < 0.25),
                hat=bool(rng.random() < 0.15), bag=int(rng.integers(0, 3)),  # 0 none, 1 backpack, 2 hand bag
                bag_colour=jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 20),
                walking=bool(rng.random() < 0.8), phase=float(rng.uniform(0, 2 * math.pi)),
                stride=float(rng.uniform(0.25, 0.45)), arms_up=bool(rng.random() < 0.08),
                width=float(rng.uniform(0.9, 1.15)))


def _limb(pen, a, b, c, width, upper, lower):
    pen.line([a, b], width, upper)
    pen.line([b, c], width * 0.9, lower)


def draw_person(p: dict, ppm: float, phase_offset: float = 0.0, on_bike=None) -> Sprite:
    H, wk = p['h'], p['width']
    pen = Pen(ppm, -0.45 * H, 0.45 * H, H + 0.04)
    _person_body(pen, p, phase_offset)
    return pen.finish()


def _person_body(pen: Pen, p: dict, phase_offset: float = 0.0, ox: float = 0.0):
    H, wk = p['h'], p['width']
    ph = p['phase'] + phase_offset
    sw = (0.125 if p['view'] != 'side' else 0.06) * H * wk
    hipw = (0.085 if p['view'] != 'side' else 0.05) * H * wk
    hip_y, sh_y, head_r = 0.5 * H, 0.81 * H, 0.065 * H
    leg_w, arm_w = 0.075 * H * wk, 0.05 * H * wk
    thigh, shin = 0.245 * H, 0.235 * H
    upper_arm, fore_arm = 0.17 * H, 0.16 * H
    swing = (p['stride'] if p['walking'] else 0.03) * math.sin(ph)
    d = p['facing']
    sleeve = p['top']
    fore = p['skin'] if p['short_sleeves'] else p['top']
    back_first = []
    if p['view'] == 'side':
        # far arm and leg first (darker), near ones last
        for s, k in ((-1, 0.8), (1, 1.0)):
            a = s * swing
            hip = (ox + 0.0, hip_y)
            knee = (ox + thigh * math.sin(a) * d, hip_y - thigh * math.cos(a))
            a2 = a - 0.35 * max(0.0, -s * math.cos(ph)) * (1 if p['walking'] else 0)
            foot = (knee[0] + shin * math.sin(a2) * d, knee[1] - shin * math.cos(a2))
            legs = shade(p['legs'], k)
            _limb(pen, hip, knee, foot, leg_w, legs, legs)
            pen.line([foot, (foot[0] + 0.09 * H * 0.6 * d, foot[1] + 0.005)], leg_w * 0.8, shade(p['shoes'], k))
            back_first.append((s, k))
        torso = [(ox - sw, sh_y), (ox + sw, sh_y), (ox + hipw, hip_y - 0.02 * H), (ox - hipw, hip_y - 0.02 * H)]
        if p['coat']:
            torso = [(ox - sw, sh_y), (ox + sw, sh_y), (ox + hipw * 1.3, 0.36 * H), (ox - hipw * 1.3, 0.36 * H)]
        if p['bag'] == 1:
            pen.rect(ox - d * sw * 0.8 - d * 0.1 * H, sh_y - 0.2 * H, ox - d * sw * 0.8, sh_y - 0.02 * H, p['bag_colour'])
        pen.poly(torso, p['top'])
        for s, k in ((-1, 0.8), (1, 1.0)):
            a = -s * swing * 0.9
            sh = (ox, sh_y - 0.02 * H)
            el = (ox + upper_arm * math.sin(a) * d, sh[1] - upper_arm * math.cos(a))
            hand = (el[0] + fore_arm * math.sin(a + 0.35) * d, el[1] - fore_arm * math.cos(a + 0.35))
            _limb(pen, sh, el, hand, arm_w, shade(sleeve, k), shade(fore, k))
            pen.ellipse(hand[0], hand[1], arm_w * 0.55, arm_w * 0.55, fill=shade(p['skin'], k))
    else:
        lift = 0.04 * H * math.sin(ph) if p['walking'] else 0.0
        for s in (-1, 1):
            hip = (ox + s * hipw * 0.55, hip_y)
            foot = (ox + s * hipw * 0.75, max(0.0, s * lift))
            knee = ((hip[0] + foot[0]) / 2, (hip[1] + foot[1]) / 2)
            pen.line([hip, knee, foot], leg_w, p['legs'])
            pen.rect(foot[0] - leg_w * 0.6, foot[1], foot[0] + leg_w * 0.6, foot[1] + 0.05 * H * 0.6, p['shoes'])
        if p['skirt']:
            pen.poly([(ox - hipw, hip_y + 0.02 * H), (ox + hipw, hip_y + 0.02 * H), (ox + hipw * 1.7, 0.3 * H),
                      (ox - hipw * 1.7, 0.3 * H)], shade(p['legs'], 0.9))
        bottom = 0.36 * H if p['coat'] else hip_y - 0.03 * H
        if p['bag'] == 1 and p['view'] == 'back':
            pass
        pen.poly([(ox - sw, sh_y), (ox + sw, sh_y), (ox + hipw * (1.25 if p['coat'] else 1.05), bottom),
                  (ox - hipw * (1.25 if p['coat'] else 1.05), bottom)], p['top'])
        if p['bag'] == 1 and p['view'] == 'back':
            pen.rect(ox - sw * 0.7, sh_y - 0.26 * H, ox + sw * 0.7, sh_y - 0.04 * H, p['bag_colour'])
        for s in (-1, 1):
            sh = (ox + s * sw * 0.92, sh_y - 0.02 * H)
            if p['arms_up'] and s == 1:
                el = (sh[0] + s * 0.08 * H, sh[1] + 0.1 * H)
                hand = (el[0] + s * 0.02 * H, el[1] + 0.14 * H)
            else:
                swing_y = 0.03 * H * math.sin(ph) * s if p['walking'] else 0.0
                el = (sh[0] + s * 0.03 * H, sh[1] - upper_arm + swing_y)
                hand = (el[0] + s * 0.01 * H, el[1] - fore_arm + swing_y)
            _limb(pen, sh, el, hand, arm_w, sleeve, fore)
            pen.ellipse(hand[0], hand[1], arm_w * 0.55, arm_w * 0.55, fill=p['skin'])
            if p['bag'] == 2 and s == 1:
                pen.rect(hand[0] - 0.05 * H, hand[1] - 0.12 * H, hand[0] + 0.05 * H, hand[1], p['bag_colour'])
    # neck and head
    pen.rect(ox - 0.025 * H, sh_y - 0.01 * H, ox + 0.025 * H, sh_y + 0.05 * H, p['skin'])
    hc = (ox + (0.01 * H * p['facing'] if p['view'] == 'side' else 0.0), H - head_r)
    pen.ellipse(hc[0], hc[1], head_r * 0.88, head_r, fill=p['skin'])
    if p['view'] == 'back':
        pen.ellipse(hc[0], hc[1] + head_r * 0.1, head_r * 0.9, head_r * 0.95, fill=p['hair'])
    elif p['view'] == 'side':
        pen.ellipse(hc[0] - p['facing'] * head_r * 0.25, hc[1] + head_r * 0.3, head_r * 0.75, head_r * 0.72, fill=p['hair'])
    else:
        pen.ellipse(hc[0], hc[1] + head_r * 0.55, head_r * 0.85, head_r * 0.5, fill=p['hair'])
    if p['hat']:
        pen.rect(hc[0] - head_r * 1.1, hc[1] + head_r * 0.5, hc[0] + head_r * 1.1, hc[1] + head_r * 0.7, shade(p['top'], 0.5))
        pen.ellipse(hc[0], hc[1] + head_r * 0.8, head_r * 0.8, head_r * 0.45, fill=shade(p['top'], 0.5))


# ----------------------------------------------------------------------------------------------
# bicycles (side view, optionally seen at an angle; with or without a rider)

def bicycle_params(rng: np.random.Generator):
    rider = rng.random() < 0.65
    return dict(r=float(rng.uniform(0.3, 0.36)), base=float(rng.uniform(1.0, 1.12)),
                frame=jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 30), facing=int(rng.choice([-1, 1])),
                squash=float(rng.uniform(0.45, 1.0) if rng.random() < 0.35 else 1.0),
                spokes=int(rng.choice([8, 12, 16])), rider=bool(rider), basket=bool(rng.random() < 0.15),
                person=person_params(rng, view='side'), phase=float(rng.uniform(0, 2 * math.pi)))


def draw_bicycle(p: dict, ppm: float, phase_offset: float = 0.0) -> Sprite:
    r, L, f, q = p['r'], p['base'], p['facing'], p['squash']
    half = (L + 2 * r) / 2
    top = 1.75 if p['rider'] else 1.05
    pen = Pen(ppm, -half * q - 0.3, half * q + 0.3, top + 0.1)

    def P(x, y):  # x from the rear wheel contact line; squash models seeing the bike at an angle
        return ((x - half + r) * f * q, y)

    rear, front = P(0, r), P(L, r)
    bb, seat = P(0.42, r - 0.05), P(0.3, r + 0.5)
    head_hi, head_lo = P(L - 0.1, r + 0.5), P(L - 0.06, r + 0.36)
    bar = P(L - 0.14, r + 0.64)
    fw = 0.035
    tyre = (25, 25, 25)
    ph = p['phase'] + phase_offset
    for c in (rear, front):
        pen.ellipse(c[0], c[1], r * q, r, outline=tyre, width=0.045)
        for i in range(p['spokes']):
            a = i * 2 * math.pi / p['spokes'] + ph * 0.3
            pen.line([c, (c[0] + math.cos(a) * r * 0.93 * q, c[1] + math.sin(a) * r * 0.93)], 0.006,
                     (150, 150, 155), round_caps=False)
        pen.ellipse(c[0], c[1], 0.03 * q + 0.01, 0.03, fill=(120, 120, 125))
    col = p['frame']
    pen.line([rear, bb, seat, rear], fw, col)
    pen.line([seat, head_hi], fw, col)
    pen.line([bb, head_lo], fw * 1.1, col)
    pen.line([head_hi, head_lo, front], fw, shade(col, 0.85))
    pen.line([seat, P(0.27, r + 0.58)], 0.025, (50, 50, 50))
    pen.line([P(0.18, r + 0.6), P(0.4, r + 0.6)], 0.05, (30, 30, 30))  # saddle
    pen.line([head_hi, bar, P(L - 0.26, r + 0.66)], 0.03, (60, 60, 60))
    if p['basket']:
        pen.rect(front[0] - 0.12 * f * q, r + 0.45, front[0] + 0.15 * f * q, r + 0.65, (150, 110, 60))
    crank = 0.17
    pedals = [(bb[0] + math.cos(ph + k * math.pi) * crank * f * q, bb[1] + math.sin(ph + k * math.pi) * crank)
              for k in (0, 1)]
    for pd in pedals:
        pen.line([bb, pd], 0.02, (70, 70, 70))
    if p['rider']:
        pp = p['person']
        H = pp['h']
        hip = P(0.3, r + 0.66)
        sh = P(0.62, r + 0.66 + 0.31 * H)
        sk, tp, lg = pp['skin'], pp['top'], pp['legs']
        lw = 0.07 * H
        for k, pd in enumerate(pedals):
            dk = 0.8 if k == 0 else 1.0
            mx, my = (hip[0] + pd[0]) / 2, (hip[1] + pd[1]) / 2
            knee = (mx + 0.18 * f * q, my + 0.12)
            pen.line([hip, knee, pd], lw, shade(lg, dk))
            pen.line([pd, (pd[0] + 0.1 * f * q, pd[1])], lw * 0.7, pp['shoes'])
        if pp['bag'] == 1:
            pen.poly([(hip[0] - 0.12 * f * q, hip[1] + 0.2), (sh[0] - 0.1 * f * q, sh[1] - 0.05),
                      (sh[0] - 0.25 * f * q, sh[1] - 0.1), (hip[0] - 0.25 * f * q, hip[1] + 0.18)], pp['bag_colour'])
        pen.line([hip, sh], 0.12 * H, tp)
        grip = P(L - 0.2, r + 0.66)
        elbow = ((sh[0] + grip[0]) / 2, (sh[1] + grip[1]) / 2 - 0.04)
        fore = sk if pp['short_sleeves'] else tp
        pen.line([sh, elbow], 0.05 * H, tp)
        pen.line([elbow, grip], 0.045 * H, fore)
        hr = 0.065 * H
        hc = (sh[0] + 0.07 * f * q, sh[1] + 0.05 * H + hr * 0.9)
        pen.ellipse(hc[0], hc[1], hr * 0.88 * max(q, 0.8), hr, fill=sk)
        if rng_bool(pp['hat']):
            pen.ellipse(hc[0], hc[1] + hr * 0.45, hr * 1.0, hr * 0.65, fill=shade(pp['bag_colour'], 0.9))  # helmet
        else:
            pen.ellipse(hc[0] - 0.02 * f, hc[1] + hr * 0.35, hr * 0.8 * max(q, 0.8), hr * 0.68, fill=pp['hair'])
    return pen.finish()


def rng_bool(v):
    return bool(v)


# ----------------------------------------------------------------------------------------------
# road signs (labelled box = the panel; the pole is not part of it)

SIGN_KINDS = ['circle_limit', 'circle_no', 'circle_blue', 'triangle', 'yield', 'stop', 'rect_blue',
              'rect_green', 'rect_white', 'diamond']


def sign_params(rng: np.random.Generator):
    kind = str(rng.choice(SIGN_KINDS))
    size = float(rng.uniform(0.55, 0.9))
    if kind.startswith('rect_green'):
        size *= 1.2
    aspect = 1.0
    if kind in ('rect_blue',):
        aspect = float(rng.choice([1.0, 1.0, 1.4]))
    if kind == 'rect_green':
        aspect = float(rng.uniform(1.5, 2.6))
    if kind == 'rect_white':
        aspect = float(rng.uniform(0.75, 0.85))
    if kind == 'triangle':
        aspect = 1.12
    text = {'circle_limit': str(rng.choice(['20', '30', '40', '50', '60', '70', '80', '90', '100', '120'])),
            'rect_white': 'SPEED LIMIT', 'stop': 'STOP',
            'rect_blue': str(rng.choice(['P', 'i', 'H', '+'])),
            'rect_green': str(rng.choice(['EXIT', 'CITY', 'A7', 'NORTH', 'MAIN ST', 'B12', 'ZOO'])),
            'triangle': str(rng.choice(['!', 'x', '>'])),
            }.get(kind, '')
    return dict(kind=kind, size=size, aspect=aspect, height=float(rng.uniform(1.9, 2.7)),
                pole=jitter(rng, (130, 130, 135), 25), text=text, arrow=float(rng.uniform(0, 2 * math.pi)),
                second=bool(rng.random() < 0.2), second_kind=str(rng.choice(SIGN_KINDS)),
                yellow=bool(rng.random() < 0.3), worn=float(rng.uniform(0.8, 1.0)))


def _sign_panel(pen: Pen, kind, cx, cy, s, aspect, p):
    """Draws one panel of size s (height, metres) centred at (cx, cy); returns its box."""
    w, h = s * aspect, s
    red, white, black = shade((200, 25, 30), p['worn']), shade((245, 245, 240), p['worn']), (20, 20, 20)
    blue, green = shade((20, 70, 170), p['worn']), shade((20, 110, 60), p['worn'])
    yellow = shade((245, 200, 30), p['worn'])
    if kind.startswith('circle'):
        if kind == 'circle_blue':
            pen.ellipse(cx, cy, w / 2, h / 2, fill=blue, outline=white, width=s * 0.03)
            a = p['arrow']
            tip = (cx + math.cos(a) * s * 0.3, cy + math.sin(a) * s * 0.3)
            tail = (cx - math.cos(a) * s * 0.3, cy - math.sin(a) * s * 0.3)
            pen.line([tail, tip], s * 0.09, white)
            for da in (2.5, -2.5):
                pen.line([tip, (tip[0] + math.cos(a + da) * s * 0.16, tip[1] + math.sin(a + da) * s * 0.16)], s * 0.08, white)
        else:
            pen.ellipse(cx, cy, w / 2, h / 2, fill=red)
            pen.ellipse(cx, cy, w * 0.38, h * 0.38, fill=white)
            if kind == 'circle_limit':
                pen.text(cx, cy, s * 0.3, p['text'], black)
            else:
                pen.line([(cx - s * 0.26, cy + s * 0.26), (cx + s * 0.26, cy - s * 0.26)], s * 0.08, red)
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    if kind in ('triangle', 'yield'):
        up = kind == 'triangle'
        y0, y1 = (cy - h / 2, cy + h / 2) if up else (cy + h / 2, cy - h / 2)
        fill = yellow if p['yellow'] and up else white
        pen.poly([(cx - w / 2, y0), (cx + w / 2, y0), (cx, y1)], red)
        k = 0.68
        yi0 = cy + (y0 - cy) * k - (0.04 * s if up else -0.04 * s)
        yi1 = cy + (y1 - cy) * k
        pen.poly([(cx - w / 2 * k, yi0), (cx + w / 2 * k, yi0), (cx, yi1)], fill)
        if up:
            pen.text(cx, cy - s * 0.08, s * 0.3, p['text'] or '!', black)
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    if kind == 'stop':
        pts = [(cx + math.cos(math.pi / 8 + i * math.pi / 4) * s / 2 / math.cos(math.pi / 8),
                cy + math.sin(math.pi / 8 + i * math.pi / 4) * s / 2 / math.cos(math.pi / 8)) for i in range(8)]
        pen.poly(pts, white)
        pts = [(cx + (x - cx) * 0.92, cy + (y - cy) * 0.92) for x, y in pts]
        pen.poly(pts, red)
        pen.text(cx, cy, s * 0.25, 'STOP', white)
        return (cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2)
    if kind == 'diamond':
        pen.poly([(cx, cy + h / 2), (cx + w / 2, cy), (cx, cy - h / 2), (cx - w / 2, cy)], black)
        pen.poly([(cx, cy + h * 0.43), (cx + w * 0.43, cy), (cx, cy - h * 0.43), (cx - w * 0.43, cy)], yellow)
        pen.poly([(cx, cy + h * 0.2), (cx + w * 0.2, cy), (cx, cy - h * 0.2), (cx - w * 0.2, cy)], white)
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    fill, fg = {'rect_blue': (blue, white), 'rect_green': (green, white), 'rect_white': (white, black)}[kind]
    pen.rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, fill, outline=fg, width=s * 0.035)
    if kind == 'rect_white':
        pen.text(cx, cy + h * 0.22, h * 0.12, 'SPEED', black)
        pen.text(cx, cy + h * 0.06, h * 0.12, 'LIMIT', black)
        pen.text(cx, cy - h * 0.2, h * 0.3, str(10 * (2 + int(p['arrow'] * 10) % 6)), black)
    elif kind == 'rect_green':
        pen.text(cx, cy, h * 0.35, p['text'], white)
    else:
        pen.text(cx, cy, h * 0.6, p['text'], white)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def draw_sign(p: dict, ppm: float):
    """Returns [(Sprite, box)] sharing one image: one entry per panel on the pole."""
    s, a = p['size'], p['aspect']
    w = s * a
    top = p['height'] + s / 2 + (s * 0.95 if p['second'] else 0.0)
    pen = Pen(ppm, -w / 2 - 0.05, w / 2 + 0.05, top + 0.03)
    pen.line([(0, 0), (0, top - 0.05)], 0.07, p['pole'], round_caps=False)
    boxes = [_sign_panel(pen, p['kind'], 0.0, p['height'], s, a, p)]
    if p['second']:
        sk = p['second_kind']
        sa = 1.0 if sk not in ('rect_green',) else 1.6
        s2 = min(s, w / sa)
        boxes.append(_sign_panel(pen, sk, 0.0, p['height'] + s / 2 + s2 / 2 + 0.04, s2, sa, p))
    sprites = []
    for b in boxes:
        sprites.append(pen.finish(box_m=b) if not sprites else Sprite(sprites[0].image, sprites[0].anchor, _box_px(pen, b)))
    return sprites


def _box_px(pen: Pen, b):
    x1, y1 = pen.p(b[0], b[3])
    x2, y2 = pen.p(b[2], b[1])
    return (x1 / pen.ss, y1 / pen.ss, x2 / pen.ss, y2 / pen.ss)


# ----------------------------------------------------------------------------------------------
# distractors: street furniture that is not one of the four classes

DISTRACTORS = ['pole', 'lamp', 'traffic_light', 'bin', 'hydrant', 'cone', 'bollard', 'bench', 'mailbox',
               'column', 'sign_back', 'hedge']


def distractor_params(rng: np.random.Generator, kind: str | None = None):
    kind = kind or str(rng.choice(DISTRACTORS))
    return dict(kind=kind, colour=jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 30),
                grey=jitter(rng, (110, 110, 115), 30), height=float(rng.uniform(2.5, 6.0)),
                facing=int(rng.choice([-1, 1])), lit=int(rng.integers(3)), size=float(rng.uniform(0.7, 1.3)))


def draw_distractor(p: dict, ppm: float) -> Sprite:
    k, g, c, z = p['kind'], p['grey'], p['colour'], p['size']
    if k in ('pole', 'lamp', 'traffic_light'):
        h = p['height'] if k != 'traffic_light' else 3.2
        pen = Pen(ppm, -1.3, 1.3, h + 0.8)
        pen.line([(0, 0), (0, h)], 0.12, g, round_caps=False)
        if k == 'lamp':
            f = p['facing']
            pen.line([(0, h), (0.3 * f, h + 0.35), (1.1 * f, h + 0.4)], 0.08, g)
            pen.ellipse(1.1 * f, h + 0.33, 0.25, 0.09, fill=(230, 230, 200))
        if k == 'traffic_light':
            pen.rect(-0.17, h - 0.1, 0.17, h + 0.75, (25, 25, 25))
            for i, col in enumerate([(230, 40, 30), (240, 190, 30), (40, 200, 80)]):
                on = i == p['lit']
                pen.ellipse(0, h + 0.6 - i * 0.25, 0.09, 0.09, fill=col if on else shade(col, 0.3))
        return pen.finish()
    if k == 'bin':
        pen = Pen(ppm, -0.4, 0.4, 1.15)
        pen.rect(-0.3 * z, 0, 0.3 * z, 0.95 * z, c)
        pen.rect(-0.34 * z, 0.95 * z, 0.34 * z, 1.05 * z, shade(c, 0.7))
        return pen.finish()
    if k == 'hydrant':
        pen = Pen(ppm, -0.3, 0.3, 0.8)
        pen.rect(-0.12, 0, 0.12, 0.6, (200, 30, 30))
        pen.ellipse(0, 0.62, 0.12, 0.1, fill=(200, 30, 30))
        pen.rect(-0.22, 0.35, 0.22, 0.45, (170, 25, 25))
        return pen.finish()
    if k == 'cone':
        pen = Pen(ppm, -0.25, 0.25, 0.75)
        pen.poly([(-0.2, 0.03), (0.2, 0.03), (0.04, 0.72), (-0.04, 0.72)], (240, 110, 20))
        pen.poly([(-0.12, 0.3), (0.12, 0.3), (0.09, 0.42), (-0.09, 0.42)], (240, 240, 240))
        pen.rect(-0.25, 0, 0.25, 0.04, (40, 40, 40))
        return pen.finish()
    if k == 'bollard':
        pen = Pen(ppm, -0.15, 0.15, 1.0)
        pen.rect(-0.08, 0, 0.08, 0.95, g)
        pen.rect(-0.08, 0.75, 0.08, 0.82, (230, 230, 230))
        return pen.finish()
    if k == 'bench':
        pen = Pen(ppm, -1.0, 1.0, 0.95)
        pen.rect(-0.9, 0.42, 0.9, 0.5, (120, 80, 45))
        pen.rect(-0.9, 0.6, 0.9, 0.9, (120, 80, 45))
        for x in (-0.8, 0.8):
            pen.rect(x - 0.03, 0, x + 0.03, 0.9, (40, 40, 40))
        return pen.finish()
    if k == 'mailbox':
        pen = Pen(ppm, -0.35, 0.35, 1.3)
        pen.rect(-0.28, 0, 0.28, 1.0, c)
        pen.ellipse(0, 1.0, 0.28, 0.18, fill=c)
        pen.rect(-0.15, 0.7, 0.15, 0.76, (20, 20, 20))
        return pen.finish()
    if k == 'column':  # advertising column with posters
        pen = Pen(ppm, -0.7, 0.7, 3.4)
        pen.rect(-0.6, 0, 0.6, 3.0, (200, 195, 185))
        pen.rect(-0.65, 3.0, 0.65, 3.2, (40, 80, 50))
        pen.rect(-0.45, 0.6, 0.1, 1.8, c)
        pen.rect(0.15, 1.0, 0.55, 2.6, shade(c, 0.5))
        pen.text(-0.2, 1.5, 0.25, 'SALE', (250, 250, 250))
        return pen.finish()
    if k == 'sign_back':  # the grey back of a sign facing away: not a labelled sign
        pen = Pen(ppm, -0.5, 0.5, 3.0)
        pen.line([(0, 0), (0, 2.6)], 0.07, g, round_caps=False)
        if p['lit'] == 0:
            pen.ellipse(0, 2.4, 0.35, 0.35, fill=(150, 150, 150))
        else:
            pen.rect(-0.32, 2.1, 0.32, 2.7, (150, 150, 150))
        return pen.finish()
    # hedge / bush
    pen = Pen(ppm, -1.2, 1.2, 1.3)
    base = jitter(np.random.default_rng(int(z * 1000)), (50, 110, 45), 20)
    for i in range(7):
        x = -0.8 + i * 0.27
        pen.ellipse(x, 0.6, 0.38, 0.55, fill=shade(base, 0.8 + 0.05 * (i % 3)))
    return pen.finish()


def tree_params(rng: np.random.Generator):
    return dict(h=float(rng.uniform(4.0, 9.0)), r=float(rng.uniform(1.2, 2.6)),
                green=jitter(rng, [(60, 120, 50), (40, 95, 40), (90, 140, 60), (120, 120, 50)][rng.integers(4)], 15),
                blobs=[(float(rng.uniform(-1, 1)), float(rng.uniform(-0.8, 0.8)), float(rng.uniform(0.5, 0.9)),
                        float(rng.uniform(0.75, 1.1))) for _ in range(7)])


def draw_tree(p: dict, ppm: float) -> Sprite:
    h, r = p['h'], p['r']
    pen = Pen(ppm, -r * 1.8, r * 1.8, h + r * 1.2)
    pen.poly([(-0.15, 0), (0.15, 0), (0.1, h), (-0.1, h)], (85, 60, 40))
    for bx, by, br, k in p['blobs']:
        pen.ellipse(bx * r, h + by * r, br * r * 1.1, br * r, fill=shade(p['green'], k))
    return pen.finish()
