/** A job-level failure whose message is meant for the client (bad combination of inputs, model mismatch). */
export class GenerationError extends Error {}
