/**
 * Draws an 8-connected, 1-pixel line between integer points (Bresenham, as `cv2.line(..., 1)` with LINE_8)
 * into a single-channel canvas; pixels outside the canvas are skipped.
 */
export function drawLine(canvas: Uint8Array, width: number, height: number, x0: number, y0: number, x1: number, y1: number, value: number): void {
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  let x = x0;
  let y = y0;
  for (;;) {
    if (x >= 0 && y >= 0 && x < width && y < height) canvas[y * width + x] = value;
    if (x === x1 && y === y1) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}
