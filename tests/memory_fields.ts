/** The stable field names of `memorySummary`, in order: tools read them, tests pin them. */
export const MEMORY_SUMMARY_FIELDS = [
  "model",
  "method",
  "batch",
  "size",
  "arenaBytes",
  "lowerBoundBytes",
  "savedActivationBytes",
  "weightBytes",
  "gradientBytes",
  "optimizerBytes",
  "totalBytes",
] as const;
