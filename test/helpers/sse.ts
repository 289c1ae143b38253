/** A Server-Sent Events reader for tests: parses a fetch body as it arrives. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  /** When the event arrived (ms since epoch). */
  at: number;
}

/** Yields events in order; comments come back as `event: 'comment'`. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event: SseEvent = { event: 'message', data: '', at: Date.now() };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) event.event = 'comment';
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line.startsWith('id: ')) event.id = line.slice(4);
      }
      event.data = data.join('\n');
      yield event;
    }
  }
  if (buffer !== '') throw new Error(`SSE stream ended inside an event: ${JSON.stringify(buffer)}`);
}
