/**
 * The `pg` package in the browser bundle (imported by the registry's PostgreSQL store, never used there).
 *
 * @module
 */
import { unavailable } from "./unavailable.js";

export default { Pool: unavailable("pg.Pool"), Client: unavailable("pg.Client") };
