/** Bad input to a hint preprocessor: an unknown type, a missing mask, an option out of range. */
export class HintError extends Error {
  override readonly name = 'HintError';
}

/** A model-based preprocessor was asked for, but its network is not installed. */
export class AnnotatorMissingError extends Error {
  override readonly name = 'AnnotatorMissingError';

  constructor(
    readonly hintType: string,
    readonly annotator: string,
    readonly folder: string,
  ) {
    super(
      `controlnet_type "${hintType}" needs the "${annotator}" annotator network, which is not installed: ` +
        `put its ONNX export in ${folder}`,
    );
  }
}
