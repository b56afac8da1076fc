/**
 * The `ws` package in the browser bundle: the Node relay transport and the tfchain client import it, the browser
 * client uses the standard `WebSocket` instead. Constructing one throws.
 *
 * @module
 */
import { unavailable } from "./unavailable.js";

const WebSocket = Object.assign(unavailable("ws (use the standard WebSocket)"), {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
});

export const WebSocketServer = unavailable("ws WebSocketServer");
export default WebSocket;
