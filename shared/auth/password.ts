/**
 * @module
 * Password hashing for dashboard accounts: PBKDF2-SHA256 through WebCrypto with a random 128-bit
 * salt per user, at 100,000 iterations (the most the Workers runtime allows). The iteration count
 * is stored with each hash so that it can change without locking anyone out.
 */
import { fromBase64, toBase64 } from "../encoding/base64.ts";
import { timingSafeEqual } from "./keys.ts";

/** The Workers runtime refuses PBKDF2 above this; use the cap. */
export const PBKDF2_ITERATIONS = 100_000;
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

export interface PasswordHash {
  hash: string;
  salt: string;
  iterations: number;
}

export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS, salt = crypto.getRandomValues(new Uint8Array(16))): Promise<PasswordHash> {
  return { hash: toBase64(await derive(password, salt, iterations)), salt: toBase64(salt), iterations };
}

/** Whether `password` matches the stored hash; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = fromBase64(stored.hash);
  const actual = await derive(password, fromBase64(stored.salt), stored.iterations);
  return timingSafeEqual(actual, expected);
}

/**
 * A hash to verify against when the account does not exist, so that an unknown email costs the
 * same PBKDF2 work as a wrong password and timing does not tell them apart.
 */
export const DUMMY_HASH: PasswordHash = { hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", salt: "AAAAAAAAAAAAAAAAAAAAAA==", iterations: PBKDF2_ITERATIONS };

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  if (email && password.toLowerCase() === email.toLowerCase()) return "The password must not be your email address.";
  if (new Set(password).size < 4) return "The password repeats too few characters.";
  return undefined;
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations }, key, 256);
  return new Uint8Array(bits);
}
