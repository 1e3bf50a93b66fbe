/**
 * The MediaPipe face-mesh contours that the MediaPipe-face ControlNet's annotator draws, as chains of
 * landmark indices (consecutive indices are joined), with the colour of each part in the final RGB
 * image (MediaPipe draws BGR tuples, which the annotator then flips).
 */
export interface ContourPart {
  name: string;
  rgb: readonly [number, number, number];
  chains: readonly (readonly number[])[];
}

export const FACE_CONTOURS: readonly ContourPart[] = [
  {
    name: 'face oval',
    rgb: [10, 200, 10],
    chains: [
      [
        10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162,
        21, 54, 103, 67, 109, 10,
      ],
    ],
  },
  {
    name: 'left eye',
    rgb: [10, 200, 180],
    chains: [
      [263, 249, 390, 373, 374, 380, 381, 382, 362],
      [263, 466, 388, 387, 386, 385, 384, 398, 362],
    ],
  },
  {
    name: 'left eyebrow',
    rgb: [10, 220, 180],
    chains: [
      [276, 283, 282, 295, 285],
      [300, 293, 334, 296, 336],
    ],
  },
  {
    name: 'right eye',
    rgb: [180, 200, 10],
    chains: [
      [33, 7, 163, 144, 145, 153, 154, 155, 133],
      [33, 246, 161, 160, 159, 158, 157, 173, 133],
    ],
  },
  {
    name: 'right eyebrow',
    rgb: [180, 220, 10],
    chains: [
      [46, 53, 52, 65, 55],
      [70, 63, 105, 66, 107],
    ],
  },
  {
    name: 'lips',
    rgb: [10, 180, 10],
    chains: [
      [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291],
      [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291],
      [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308],
      [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308],
    ],
  },
];

/** The iris centres of the refined (478-landmark) mesh, drawn as 4×4 squares. */
export const PUPILS: readonly { index: number; rgb: readonly [number, number, number] }[] = [
  { index: 468, rgb: [250, 200, 10] },
  { index: 473, rgb: [10, 200, 250] },
];
