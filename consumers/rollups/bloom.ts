const HASHES = 7;
/** Strings the first layer holds; each later layer holds four times the one before. */
const FIRST_CAPACITY = 2 ** 17;
/** 16 bits a string at 7 hashes: about 0.07% false positives in a full layer. */
const BITS_PER_STRING = 16;

/** One fixed-size filter, full at `capacity` strings. */
class Layer {
  readonly words: Uint32Array;
  readonly bits: number;
  count = 0;

  constructor(readonly capacity: number) {
    this.bits = capacity * BITS_PER_STRING;
    this.words = new Uint32Array(this.bits / 32);
  }

  add(first: number, second: number): void {
    for (let hash = 0; hash < HASHES; hash++) {
      const bit = ((first + Math.imul(hash, second)) >>> 0) % this.bits;
      this.words[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.count++;
  }

  has(first: number, second: number): boolean {
    for (let hash = 0; hash < HASHES; hash++) {
      const bit = ((first + Math.imul(hash, second)) >>> 0) % this.bits;
      if ((this.words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/**
 * A Bloom filter over strings: `has` is true for every string added (never a false negative), and for others
 * with a probability of at most about 0.07% per full layer. It grows with what it holds, a layer four times the
 * size when the last is full: 256 KiB for the first 131,072 strings, 1.25 MiB for 655,360, 21 MiB for ten
 * million (0.2-0.3% false positives then). A filter of fixed size took 16 MiB per partition from the start,
 * which the rollups group's memory held six times over for partitions of a few hundred thousand items. Used
 * where a false positive only costs a read.
 */
export class BloomFilter {
  private readonly layers = [new Layer(FIRST_CAPACITY)];

  add(value: string): void {
    const [first, second] = hashes(value);
    // One already held is not counted again: an item dropped, read back and dropped again grows nothing.
    if (this.holds(first, second)) return;
    let last = this.layers.at(-1)!;
    if (last.count === last.capacity) this.layers.push((last = new Layer(last.capacity * 4)));
    last.add(first, second);
  }

  has(value: string): boolean {
    const [first, second] = hashes(value);
    return this.holds(first, second);
  }

  private holds(first: number, second: number): boolean {
    return this.layers.some((layer) => layer.has(first, second));
  }
}

/** Two hashes of a string for double hashing: FNV-1a-style over two different primes. */
function hashes(value: string): [number, number] {
  let first = 0x811c9dc5;
  let second = 0x5bd1e995;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x5bd1e995);
  }
  return [first, second | 1];
}
