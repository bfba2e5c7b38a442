/**
 * Zones (cameras.<name>.zones): polygons resolved to the frame's pixels, and per object whether
 * it is in each of them. An object is in a zone once the bottom centre of its box (where it
 * stands) has been inside for `inertia` detector frames in a row, and out again once it has been
 * outside for `inertia` frames in a row (so a box jittering on the edge does not flicker). It is
 * loitering in a zone with `loitering_seconds` > 0 once it has been in it that long.
 */
import type { Box } from '../core/box.js';
import { ConfigError } from '../core/errors.js';
import type { ZoneSettings } from '../config/types.js';
import { isNormalizedPolygon, polygonProblem } from '../config/zones.js';

export interface Zone {
  name: string;
  /** corners in pixels */
  points: Array<[number, number]>;
  /** labels counted here; empty = all */
  objects: string[];
  inertia: number;
  loiteringSeconds: number;
}

/**
 * The camera's zones in pixels of a `width` x `height` frame: fractions are scaled, pixel corners
 * checked against the frame (a ConfigError naming the key when one is outside).
 */
export function resolveZones(camera: string, zones: Record<string, ZoneSettings>, width: number, height: number): Zone[] {
  return Object.entries(zones).map(([name, z]) => {
    const problem = polygonProblem(z.coordinates, { width, height });
    if (problem) throw new ConfigError(`cameras.${camera}.zones.${name}.coordinates: ${problem}`);
    const scale = isNormalizedPolygon(z.coordinates);
    return {
      name,
      points: z.coordinates.map(([x, y]) => (scale ? [x * width, y * height] : [x, y])),
      objects: z.objects,
      inertia: z.inertia,
      loiteringSeconds: z.loitering_seconds,
    };
  });
}

/** Whether (x, y) lies inside the polygon (even-odd rule; points on an edge may go either way). */
export function insidePolygon(x: number, y: number, points: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Where an object stands: the bottom centre of its box. */
export function footPoint(box: Box): [number, number] {
  return [(box.x1 + box.x2) / 2, box.y2];
}

interface Presence {
  inside: boolean;
  /** consecutive frames on the other side of the edge than `inside` says */
  streak: number;
  /** stream time it entered (while inside) */
  since: number;
}

/** One object's presence in the camera's zones. */
export class ZonePresence {
  private readonly state = new Map<string, Presence>();
  /** every zone entered, in order */
  readonly entered: string[] = [];

  constructor(
    private readonly zones: readonly Zone[],
    private readonly label: string,
  ) {}

  /** Takes the object's box of a detector frame at stream time `t`. */
  update(box: Box, t: number): void {
    const [x, y] = footPoint(box);
    for (const z of this.zones) {
      if (z.objects.length > 0 && !z.objects.includes(this.label)) continue;
      const p = this.state.get(z.name) ?? { inside: false, streak: 0, since: t };
      const now = insidePolygon(x, y, z.points);
      if (now === p.inside) p.streak = 0;
      else if (++p.streak >= z.inertia) {
        p.inside = now;
        p.streak = 0;
        p.since = t;
        if (now && !this.entered.includes(z.name)) this.entered.push(z.name);
      }
      this.state.set(z.name, p);
    }
  }

  /** The zones it is in now, in the order of the config. */
  current(): string[] {
    return this.zones.filter((z) => this.state.get(z.name)?.inside).map((z) => z.name);
  }

  /** Whether it has been in a zone with loitering_seconds for that long at stream time `t`. */
  loitering(t: number): boolean {
    return this.zones.some((z) => {
      const p = this.state.get(z.name);
      return z.loiteringSeconds > 0 && p?.inside === true && t - p.since >= z.loiteringSeconds;
    });
  }
}
