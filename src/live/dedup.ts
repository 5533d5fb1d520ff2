/**
 * Remembers the last emission of the most recent events, to drop repeats from the output topics
 * (the Flink job writes at least once: a restart repeats what it wrote since its last checkpoint).
 * A Map keeps insertion order, so re-inserting on use and evicting the first key is an LRU with
 * O(1) steps and a hard cap on entries.
 */
export class RecentEmissions {
  private readonly seen = new Map<string, string>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.seen.size;
  }

  /**
   * True when `key` was last seen with exactly this `fingerprint` (a repeat). Otherwise records it
   * as the latest emission (new, or an update that replaces the previous one) and returns false.
   */
  isRepeat(key: string, fingerprint: string): boolean {
    const previous = this.seen.get(key);
    if (previous === fingerprint) {
      this.seen.delete(key);
      this.seen.set(key, fingerprint);
      return true;
    }
    if (previous !== undefined) this.seen.delete(key);
    this.seen.set(key, fingerprint);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return false;
  }
}
