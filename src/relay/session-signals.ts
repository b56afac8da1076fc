/** What a process does when another process signals one of its sessions. */
export interface SessionSignalHandlers {
  /** New messages were queued for the session: read the queue. */
  wake(): void;
  /** A newer connection of the session logged in elsewhere: close this one. */
  evict(): void;
}

/**
 * Cross-process signalling between relay processes that share one queue store: wakes the process holding a
 * session's connection when another process queued a message for it, and evicts an older connection of a session
 * when the session logs in on another process. A single process needs none of this (the router wakes its own
 * connections), so embedded mode has no signals.
 */
export interface SessionSignals {
  /**
   * Starts listening for `session` on behalf of the connection `owner` and announces `owner` as the session's
   * newest connection. Resolves once signals sent after this call are seen.
   */
  attach(session: string, owner: string, handlers: SessionSignalHandlers): Promise<void>;
  /** Stops listening, if `owner` is still the attached connection. */
  detach(session: string, owner: string): void;
  /** Tells the process holding `session` (if any) to read its queue. */
  wake(session: string): void;
  /** Called after the signal channel reconnects; signals may have been missed, so every session should re-read. */
  onResync(listener: () => void): void;
  close(): Promise<void>;
}
