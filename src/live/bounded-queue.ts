/**
 * A FIFO that never holds more than `capacity` items: pushing onto a full queue drops the oldest.
 * Backed by a plain array read from a moving head, so a reader that keeps up keeps it near empty;
 * the array exists only while items are queued, so an idle subscriber costs no array at all.
 */
export class BoundedQueue<T> {
  private items: T[] | undefined;
  private head = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity: expected a whole number above 0, got ${capacity}`);
  }

  get size(): number {
    return this.items ? this.items.length - this.head : 0;
  }

  /** Appends `item`; returns how many old items were dropped to make room (0 or 1). */
  push(item: T): number {
    const items = (this.items ??= []);
    items.push(item);
    if (items.length - this.head <= this.capacity) return 0;
    (items as (T | undefined)[])[this.head] = undefined;
    this.head += 1;
    // Compact once the dead prefix is as long as the live part, so memory stays under 2x capacity.
    if (this.head >= this.capacity) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return 1;
  }

  shift(): T | undefined {
    const items = this.items;
    if (!items || this.head >= items.length) return undefined;
    const item = items[this.head] as T;
    (items as (T | undefined)[])[this.head] = undefined;
    this.head += 1;
    if (this.head === items.length) this.clear();
    return item;
  }

  clear(): void {
    this.items = undefined;
    this.head = 0;
  }
}
