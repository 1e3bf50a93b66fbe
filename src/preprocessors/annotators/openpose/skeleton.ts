/** The OpenPose COCO-18 body model as controlnet_aux uses it (1-based part numbers in its tables). */

/** Keypoints: nose, neck, r-shoulder, r-elbow, r-wrist, l-shoulder, l-elbow, l-wrist, r-hip, r-knee, r-ankle, l-hip, l-knee, l-ankle, r-eye, l-eye, r-ear, l-ear. */
export const BODY_PARTS = 18;

/** Limbs as [part A, part B] (1-based), in the order they are assembled; the first 17 are drawn. */
export const LIMBS: readonly (readonly [number, number])[] = [
  [2, 3],
  [2, 6],
  [3, 4],
  [4, 5],
  [6, 7],
  [7, 8],
  [2, 9],
  [9, 10],
  [10, 11],
  [2, 12],
  [12, 13],
  [13, 14],
  [2, 1],
  [1, 15],
  [15, 17],
  [1, 16],
  [16, 18],
  [3, 17],
  [6, 18],
];

/** Each limb's PAF channels (x, y) among the model's 38, in the numbering of the CMU code (minus 19). */
export const LIMB_PAF: readonly (readonly [number, number])[] = [
  [31, 32],
  [39, 40],
  [33, 34],
  [35, 36],
  [41, 42],
  [43, 44],
  [19, 20],
  [21, 22],
  [23, 24],
  [25, 26],
  [27, 28],
  [29, 30],
  [47, 48],
  [49, 50],
  [53, 54],
  [51, 52],
  [55, 56],
  [37, 38],
  [45, 46],
].map(([a, b]) => [a - 19, b - 19] as const);

/** Limbs drawn (the ear-shoulder links are assembled but not drawn). */
export const DRAWN_LIMBS = 17;

/** The standard colours (RGB): keypoint i has colour i, limb k has colour k at 60 %. */
export const POSE_COLOURS: readonly (readonly [number, number, number])[] = [
  [255, 0, 0],
  [255, 85, 0],
  [255, 170, 0],
  [255, 255, 0],
  [170, 255, 0],
  [85, 255, 0],
  [0, 255, 0],
  [0, 255, 85],
  [0, 255, 170],
  [0, 255, 255],
  [0, 170, 255],
  [0, 85, 255],
  [0, 0, 255],
  [85, 0, 255],
  [170, 0, 255],
  [255, 0, 255],
  [255, 0, 170],
  [255, 0, 85],
];
