import assert from "node:assert/strict";
import { test } from "node:test";
import { BacklogCache } from "../../src/peer/backlog-cache.js";

const backlog = (uid: string) => ({ uid, replyTo: `ret.${uid}`, module: "", ttl: 60 });

test("backlog cache — an entry leaves once every destination answered", () => {
  const c = new BacklogCache(10);
  c.set(backlog("one"), 1060, 1, 1000);
  c.set(backlog("fan"), 1060, 3, 1000);
  c.answered("one");
  assert.equal(c.get("one", 1001), undefined);
  c.answered("fan");
  c.answered("fan");
  assert.equal(c.get("fan", 1001)?.replyTo, "ret.fan");
  c.answered("fan");
  assert.equal(c.get("fan", 1001), undefined);
  assert.equal(c.size, 0);
  c.answered("unknown"); // harmless
});

test("backlog cache — entries leave at the end of their lifetime, unanswered or not", () => {
  const c = new BacklogCache(10);
  c.set(backlog("short"), 1010, 1, 1000);
  c.set(backlog("long"), 1100, 1, 1000);
  assert.equal(c.get("short", 1009)?.uid, "short");
  assert.equal(c.get("short", 1010), undefined);
  assert.equal(c.size, 1);
  assert.equal(c.get("long", 1099)?.uid, "long");
  c.set(backlog("later"), 1200, 1, 1101); // a later call sweeps what has expired
  assert.equal(c.size, 1);
});

test("backlog cache — at most maxEntries, the oldest forgotten first; memory stays bounded", () => {
  const c = new BacklogCache(3);
  for (let i = 0; i < 5; i++) c.set(backlog(`u${i}`), 5000, 1, 1000);
  assert.equal(c.size, 3);
  assert.equal(c.get("u0", 1000), undefined);
  assert.equal(c.get("u4", 1000)?.uid, "u4");
  // Many answered requests with long lifetimes: the map stays empty and the bucket lists are rebuilt.
  for (let i = 0; i < 100; i++) {
    c.set(backlog(`a${i}`), 5000, 1, 1000);
    c.answered(`a${i}`);
  }
  assert.equal(c.size, 2); // the first of them made room by forgetting u2
  assert.equal(c.get("u4", 1000)?.uid, "u4");
});
