/**
 * Holding out whole groups: the validation carve for training sets whose
 * examples come in near-duplicate groups (`Dataset.groups`, e.g. emoji
 * families), so that no group is on both sides.
 * @module
 */
/**
 * Which examples to hold out, group by group: examples are visited in
 * `order`, and the first time a group is met it goes to validation whole
 * while the class of that example still has quota left (`quotas[k]`
 * examples of class k; each member then counts for its own class) and at
 * least one example stays to train on; otherwise it stays whole in training.
 * Returns ascending indices of both parts.
 */
export function holdOutGroups(
  labels: ArrayLike<number>,
  groups: ArrayLike<number>,
  quotas: readonly number[],
  order: ArrayLike<number>,
): { train: Int32Array; validation: Int32Array } {
  const n = labels.length, left = [...quotas];
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = members.get(groups[i]);
    if (g) g.push(i);
    else members.set(groups[i], [i]);
  }
  const held = new Uint8Array(n), decided = new Set<number>();
  let total = 0;
  for (let p = 0; p < order.length; p++) {
    const i = order[p], g = groups[i];
    if (decided.has(g)) continue;
    decided.add(g);
    const group = members.get(g)!;
    if (left[labels[i]] <= 0 || total + group.length > n - 1) continue;
    for (const m of group) {
      held[m] = 1;
      left[labels[m]]--;
    }
    total += group.length;
  }
  const train = new Int32Array(n - total), validation = new Int32Array(total);
  let t = 0, v = 0;
  for (let i = 0; i < n; i++) {
    if (held[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}
