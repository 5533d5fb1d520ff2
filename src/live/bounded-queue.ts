/**
 * A FIFO that never holds more than `capacity` items: pushing onto a full queue drops the oldest.
 * Backed by a plain array read from a moving head, so a reader that keeps up keeps it near empty
 * and an idle subscriber costs no slots at all.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity: expected a whole number above 0, got ${capacity}`);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Appends `item`; returns how many old items were dropped to make room (0 or 1). */
  push(item: T): number {
    this.items.push(item);
    if (this.size <= this.capacity) return 0;
    (this.items as (T | undefined)[])[this.head] = undefined;
    this.head += 1;
    // Compact once the dead prefix is as long as the live part, so memory stays under 2x capacity.
    if (this.head >= this.capacity) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return 1;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    (this.items as (T | undefined)[])[this.head] = undefined;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
