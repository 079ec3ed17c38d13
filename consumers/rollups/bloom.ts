const BITS = 2 ** 27;
const HASHES = 7;

/**
 * A Bloom filter over strings: `has` is true for every string added (never a false negative), and for
 * others with a probability of about 0.2% once 10 million are added (16 MiB, 7 hashes). Used where a false
 * positive only costs a read.
 */
export class BloomFilter {
  private readonly words = new Uint32Array(BITS / 32);

  add(value: string): void {
    for (const bit of positions(value)) this.words[bit >>> 5]! |= 1 << (bit & 31);
  }

  has(value: string): boolean {
    for (const bit of positions(value)) if ((this.words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    return true;
  }
}

/** A string's bit positions: double hashing over two FNV-1a-style hashes of different primes. */
function positions(value: string): number[] {
  let first = 0x811c9dc5;
  let second = 0x5bd1e995;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x5bd1e995);
  }
  second |= 1;
  return Array.from({ length: HASHES }, (_, hash) => ((first + Math.imul(hash, second)) >>> 0) % BITS);
}
