type Rng = (bytes: Uint8Array) => void;

function defaultRng(): Rng {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c && typeof c.getRandomValues === "function") return (b) => void c.getRandomValues!(b);
  // Node 18 without --experimental-global-webcrypto has no global crypto; keys stay unique (timestamp and
  // 74 random bits) but are not cryptographically random. Node >= 19, browsers and edge runtimes take the branch above.
  return (b) => {
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
  };
}

let rng: Rng | undefined;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * A UUID version 7 (RFC 9562): 48-bit Unix time in milliseconds, version 7, 74 random bits
 * from `crypto.getRandomValues`. Time-ordered, so keys of one client sort by record time.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  rng ??= defaultRng();
  const b = new Uint8Array(16);
  rng(b);
  let ms = Math.max(0, Math.floor(nowMs));
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6]! & 0x0f) | 0x70; // version 7
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  let s = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEX[b[i]!];
  }
  return s;
}
