// The function the bench calls synchronously through createSyncFn (synckit's worker runs the same).
export default function add(a: number, b: number): number {
  return a + b;
}
