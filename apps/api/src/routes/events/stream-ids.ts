/** Redis stream ids (`<ms>-<seq>`) in their order: negative when `a` comes first. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = partsOf(a);
  const [bMs, bSeq] = partsOf(b);
  return aMs !== bMs ? Math.sign(aMs - bMs) : Math.sign(aSeq - bSeq);
}

/** Whether `id` is a stream id as Redis makes them. */
export function isStreamId(id: string): boolean {
  return /^\d{1,16}-\d{1,16}$/.test(id);
}

/** The time of a stream id, ms. */
export function streamIdMs(id: string): number {
  return partsOf(id)[0];
}

function partsOf(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash === -1 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}
