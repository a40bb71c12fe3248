/**
 * Why training stopped.
 * @module
 */

/** Thrown when training diverges (a non-finite loss or parameter); the last good checkpoint is kept. */
export class TrainingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}
