/**
 * Reads a request or response body as text, but never more than `max` bytes: bounded work on input
 * from the outside (a logout token, a form_post, a JWKS). Null when it is larger — declared or
 * actual; the stream is cancelled as soon as the bound is passed.
 */
export async function readTextLimited(message: Request | Response, max: number): Promise<string | null> {
  const declared = Number(message.headers.get('content-length') ?? '0');
  if (declared > max) {
    await message.body?.cancel();
    return null;
  }
  if (!message.body) return '';
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(chunk.value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
