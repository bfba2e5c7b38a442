/**
 * Zone polygons as configured (cameras.<name>.zones.<zone>.coordinates): a list of [x, y] corners,
 * or Frigate's string "x1,y1,x2,y2,...", in pixels of the source frame, or in fractions of its
 * width and height when no value is above 1 (the rule Frigate uses for its relative coordinates).
 */

/**
 * The corners of a zone written as Frigate writes them, "x1,y1,x2,y2,..." (spaces allowed around
 * the commas), or "what is wrong (what to do)": a value that is not a number, a negative one, an
 * odd count. How many corners and where they lie is polygonProblem's to check.
 */
export function pointsFromString(text: string): Array<[number, number]> | string {
  const how = 'write "x1,y1,x2,y2,x3,y3,..." with x,y pairs of numbers, or a list [[x, y], ...]';
  const parts = text.split(',').map((p) => p.trim());
  if (text.trim() === '') return `empty string (${how})`;
  const values: number[] = [];
  for (const [i, p] of parts.entries()) {
    const v = p === '' ? NaN : Number(p);
    if (!Number.isFinite(v)) return `value ${i + 1}, "${p}", is not a number (${how})`;
    if (v < 0) return `value ${i + 1}, ${p}, is negative (corners are pixels or 0..1 fractions of the frame, 0 or more)`;
    values.push(v);
  }
  if (values.length % 2 !== 0) return `${values.length} values, an odd count: the last x has no y (${how})`;
  const points: Array<[number, number]> = [];
  for (let i = 0; i < values.length; i += 2) points.push([values[i], values[i + 1]]);
  return points;
}

/** Whether the corners are fractions of the frame (every value at most 1) rather than pixels. */
export function isNormalizedPolygon(points: ReadonlyArray<readonly [number, number]>): boolean {
  return points.every(([x, y]) => x <= 1 && y <= 1);
}

/**
 * "what is wrong (what to do)" for a polygon, or null: fewer than 3 corners, all corners on one
 * line, or pixel corners outside a frame of the size given (when it is known).
 */
export function polygonProblem(points: ReadonlyArray<readonly [number, number]>, frame: { width: number; height: number } | null): string | null {
  if (points.length < 3)
    return `a zone needs at least 3 corners, got ${points.length} (write [[x, y], [x, y], [x, y], ...] or "x1,y1,x2,y2,x3,y3", in pixels or 0..1 fractions)`;
  if (Math.abs(signedArea(points)) === 0) return 'the corners lie on one line and enclose no area (give a polygon with an inside)';
  if (frame && !isNormalizedPolygon(points)) {
    const out = points.find(([x, y]) => x > frame.width || y > frame.height);
    if (out) return `corner [${out[0]}, ${out[1]}] is outside the ${frame.width}x${frame.height} frame (use pixels inside the frame, or fractions 0..1 of it)`;
  }
  return null;
}

/** The polygon's area by the shoelace formula, signed by the winding order. */
export function signedArea(points: ReadonlyArray<readonly [number, number]>): number {
  let a = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i];
    const [x2, y2] = points[(i + 1) % points.length];
    a += x1 * y2 - x2 * y1;
  }
  return a / 2;
}
