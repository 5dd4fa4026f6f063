// A stand-in RATE_LIMITER binding with the platform's API (`limit({ key })` → `{ success }`): `limit`
// requests per key pass, and every key asked for is recorded (tests assert what the gateway keys on).
export function limiter(limit = 3): { keys: string[]; binding: { limit(options: { key: string }): Promise<{ success: boolean }> } } {
  const counts = new Map<string, number>();
  const keys: string[] = [];
  return {
    keys,
    binding: {
      async limit({ key }: { key: string }) {
        keys.push(key);
        const n = (counts.get(key) ?? 0) + 1;
        counts.set(key, n);
        return { success: n <= limit };
      },
    },
  };
}
