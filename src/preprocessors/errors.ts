import { ClientError } from '../domain/client-error.js';

/** Bad input to a hint preprocessor: an unknown type, a missing mask, an option out of range. */
export class HintError extends ClientError {
  constructor(message: string) {
    super(400, message);
    this.name = 'HintError';
  }
}

/** What a user needs to install a missing annotator. */
export interface AnnotatorInstall {
  /** File name inside the annotator's folder, e.g. `model.onnx`. */
  file: string;
  /** What to put there and where to get it (one sentence). */
  source: string;
}

/** A model-based preprocessor was asked for, but its network is not installed. */
export class AnnotatorMissingError extends ClientError {
  constructor(
    readonly hintType: string,
    readonly annotator: string,
    readonly folder: string,
    readonly install?: AnnotatorInstall,
  ) {
    super(
      400,
      `controlnet_type "${hintType}" needs the "${annotator}" annotator network, which is not installed: ` +
        (install === undefined
          ? `put its ONNX export in ${folder}`
          : `put its ONNX export at ${folder}${install.file} (${install.source}; see docs/annotators.md)`),
    );
    this.name = 'AnnotatorMissingError';
  }
}
