import { RmbError } from "../errors.js";

const STATE_NAMES: Record<number, string> = { 1: "OPEN", 2: "CLOSING", 3: "CLOSED" };

/** A message was sent on a websocket that is closing or closed (it was not written). */
export class WsStateError extends RmbError {
  readonly readyState: number;
  constructor(readyState: number) {
    super(
      "RMB_ERR_WS_STATE",
      `websocket is not open: readyState ${readyState} (${STATE_NAMES[readyState] ?? "?"})`,
    );
    this.readyState = readyState;
  }
}
