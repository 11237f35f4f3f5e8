// Unit tests of the SDK with no server: the storage adapters, the outbox
// kept across a restart, retries and backoff, the token refresh, SHA-256.
import { test } from "node:test";
import assert from "node:assert/strict";
import { indexedDB as fakeIndexedDB } from "fake-indexeddb";
import {
  FieldsyncClient, FieldsyncError, IndexedDBStorage, MemoryStorage, WebStorage, webCryptoSHA256,
  type KeyValueStorage, type WebStorageLike,
} from "../index.js";

const DEVICE = "0b5e3f7a-1c2d-4e8f-9a6b-5d4c3b2a1f00";
const TASK = "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a01";

class MapWebStorage implements WebStorageLike {
  readonly m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

for (const [name, make] of [
  ["memory", () => new MemoryStorage()],
  ["web storage", () => new WebStorage(new MapWebStorage(), "app:")],
  ["indexeddb", () => new IndexedDBStorage("fieldsync-test-" + Math.random(), fakeIndexedDB)],
] as [string, () => KeyValueStorage][]) {
  test(`${name} storage keeps, replaces and removes values`, async () => {
    const s = make();
    assert.equal(await s.get("a"), null);
    await s.set("a", "1");
    await s.set("a", "二");
    assert.equal(await s.get("a"), "二");
    await s.remove("a");
    assert.equal(await s.get("a"), null);
  });

  test(`${name} storage: the outbox survives a restart`, async () => {
    const storage = make();
    const offline = async (): Promise<Response> => {
      throw new TypeError("fetch failed");
    };
    const a = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE, storage, fetch: offline });
    assert.equal(await a.enqueue("task.start", { task_id: TASK }), 1);
    assert.equal(await a.enqueue("note.add", { id: TASK, task_id: TASK, text: "闸门已关闭" }), 2);
    const b = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE, storage, fetch: offline });
    assert.deepEqual(b.outbox().map((m) => [m.id, m.name]), [[1, "task.start"], [2, "note.add"]]);
    assert.equal(await b.enqueue("task.complete", { task_id: TASK }), 3);
  });
}

test("typed mutations: a misspelt name or member does not compile", async () => {
  const c = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE });
  // @ts-expect-error: no such mutation
  await c.enqueue("note.ad", { id: TASK, task_id: TASK, text: "x" });
  // @ts-expect-error: taskId is not a member of TaskArgs
  await c.enqueue("task.start", { taskId: TASK });
  // @ts-expect-error: the args of note.add lack text
  await c.enqueue("note.add", { id: TASK, task_id: TASK });
  assert.equal(c.outbox().length, 3); // typing is the guard; the server rejects them at run time
});

/** A fetch that answers from a script, recording each request. */
function scripted(answers: (() => Response)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(url), init: init ?? {} });
    const next = answers.shift();
    if (!next) throw new Error("no answer scripted");
    return next();
  };
  return { f: f as typeof fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json", ...headers } });
const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
  json(status, { type: "urn:fieldsync:problem:" + code, title: "t", status, detail: "d", code }, headers);
const tokens = (access: string) => json(200, { access_token: access, refresh_token: "r-" + access, token_type: "Bearer", expires_in: 900, user: { id: TASK } });

test("retries 5xx, 429 and network errors with backoff, honours Retry-After, and not 4xx", async () => {
  const sleeps: number[] = [];
  const { f, calls } = scripted([
    tokens("a1"),
    problem(503, "unavailable", { "Retry-After": "7" }),
    () => {
      throw new TypeError("fetch failed");
    },
    problem(429, "login_throttled"),
    json(200, { last_mutation_id: 1, results: [{ id: 1, status: "applied" }] }),
  ]);
  const c = await FieldsyncClient.open({
    baseUrl: "http://x.invalid/", deviceId: DEVICE, fetch: f, retry: { attempts: 5, baseMs: 100, maxMs: 1000, jitter: 0 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  await c.login("inspector1", "pw");
  await c.enqueue("task.start", { task_id: TASK });
  const rep = await c.push();
  assert.equal(rep.applied, 1);
  assert.deepEqual(sleeps, [7000, 200, 400]);
  assert.equal(c.outbox().length, 0);
  assert.equal(calls[1]!.url, "http://x.invalid/v1/sync/push");
  assert.equal((calls[1]!.init.headers as Record<string, string>).Authorization, "Bearer a1");
  // The same ids on every attempt.
  for (const call of calls.slice(1)) assert.deepEqual(JSON.parse(String(call.init.body)).mutations.map((m: { id: number }) => m.id), [1]);

  const bad = scripted([tokens("b1"), problem(400, "invalid_id")]);
  const d = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE, fetch: bad.f, sleep: async () => {} });
  await assert.rejects(d.request("GET", "/v1/me"), (e) => e instanceof FieldsyncError && e.status === 401, "no request without a session");
  assert.equal(bad.calls.length, 0);
  await d.login("u", "p");
  await assert.rejects(d.request("GET", "/v1/tasks/x"), (e) => e instanceof FieldsyncError && e.code === "invalid_id");
  assert.equal(bad.calls.length, 2, "a 4xx is not retried");
});

test("gives up after the attempts, keeping the outbox", async () => {
  const { f, calls } = scripted([tokens("a1"), problem(503, "unavailable"), problem(503, "unavailable"), problem(503, "unavailable")]);
  const c = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE, fetch: f, retry: { attempts: 3 }, sleep: async () => {} });
  await c.login("u", "p");
  await c.enqueue("task.start", { task_id: TASK });
  await assert.rejects(c.push(), (e) => e instanceof FieldsyncError && e.code === "unavailable");
  assert.equal(calls.length, 4);
  assert.equal(c.outbox().length, 1);
});

test("refreshes an expired token once and repeats the request", async () => {
  const { f, calls } = scripted([
    tokens("a1"),
    problem(401, "token_expired"),
    tokens("a2"),
    json(200, { last_mutation_id: 1, results: [{ id: 1, status: "applied" }] }),
  ]);
  const storage = new MemoryStorage();
  const c = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE, fetch: f, storage, sleep: async () => {} });
  await c.login("u", "p");
  await c.enqueue("task.start", { task_id: TASK });
  await c.push();
  assert.equal(calls[2]!.url, "http://x.invalid/v1/auth/refresh");
  assert.deepEqual(JSON.parse(String(calls[2]!.init.body)), { refresh_token: "r-a1" });
  assert.equal((calls[3]!.init.headers as Record<string, string>).Authorization, "Bearer a2");
  // The new session is kept for the next start.
  const again = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE, fetch: f, storage });
  assert.equal(again.user?.id, TASK);
});

test("a refused refresh ends the session", async () => {
  const { f } = scripted([tokens("a1"), problem(401, "token_expired"), problem(401, "refresh_token_reused")]);
  const c = await FieldsyncClient.open({ baseUrl: "http://x.invalid", deviceId: DEVICE, fetch: f, sleep: async () => {} });
  await c.login("u", "p");
  await assert.rejects(c.request("GET", "/v1/me"), (e) => e instanceof FieldsyncError && e.code === "refresh_token_reused");
  assert.equal(c.user, null);
});

test("SHA-256 by WebCrypto", async () => {
  assert.equal(await webCryptoSHA256(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});
