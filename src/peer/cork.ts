/** A writable socket that can hold writes back (`net.Socket`). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

const corked = new WeakSet<Corkable>();

/**
 * Holds the socket's writes until the end of this event-loop turn (`setImmediate`), so that everything written during
 * the turn — by every promise continuation that runs in it — leaves in one `writev` instead of one system call each.
 * Costs at most one loop turn of latency.
 */
export function corkForThisTurn(socket: Corkable | undefined): void {
  if (socket === undefined || corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  setImmediate(() => {
    corked.delete(socket);
    socket.uncork();
  });
}
