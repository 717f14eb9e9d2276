/**
 * Sizes in bytes as flags give them and messages print them. Units are binary: K, M, G, T are
 * 2^10, 2^20, 2^30, 2^40 bytes, with or without a trailing B or iB ("8G", "8GB", "8GiB", "512M",
 * "1.5G"); a bare number is bytes.
 */
import { UsageError } from '../formats/errors.js';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parse a size flag's value; anything else is a UsageError naming the flag. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * UNITS[m[2].toUpperCase()]) : NaN;
  if (!m || !Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(flag, 'is not a size', {
      value: text,
      allowed: 'a positive number of bytes, or with a unit K, M, G or T (binary: 8G = 8 GiB), e.g. 512M, 8G',
    });
  }
  return bytes;
}

/** "1.5 GiB", "310 MiB", "12 KiB", "900 B". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}
