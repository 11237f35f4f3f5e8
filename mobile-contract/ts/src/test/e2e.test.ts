// The SDK against a real fieldsyncd (started with --demo by the Go test
// TestTypeScriptSDK in cmd/fieldsyncd, which sets FIELDSYNC_SDK_*): the
// convergence story the Go reference client passes — offline edits, lost
// answers, retries, a reset, two devices of one inspector converging —
// and evidence upload by the path the server names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { FieldsyncClient, MemoryStorage, type ClientOptions } from "../index.js";

const BASE = process.env.FIELDSYNC_SDK_BASE_URL ?? "";
const USER = process.env.FIELDSYNC_SDK_USER ?? "inspector1";
const PASSWORD = process.env.FIELDSYNC_SDK_PASSWORD ?? "";
const UPLOAD = process.env.FIELDSYNC_SDK_UPLOAD ?? ""; // "presigned" or "streamed"
const PHOTO = process.env.FIELDSYNC_SDK_PHOTO ?? "";
const skip = BASE ? false : "FIELDSYNC_SDK_BASE_URL is not set: run through `go test ./cmd/fieldsyncd -run TestTypeScriptSDK`";

type Rec = Record<string, unknown>;

/** A network the test controls: offline, answers lost after the server acted, scripted failures. */
class Net {
  offline = false;
  /** Paths whose next answer is lost after the server has processed the request. */
  loseNext = new Set<string>();
  /** Paths whose next answer is a 503 that never reached the server. */
  fail503 = new Set<string>();
  lost = 0;
  urls: { method: string; url: string }[] = [];
  readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const path = new URL(url).pathname;
    this.urls.push({ method: init?.method ?? "GET", url });
    if (this.offline) throw new TypeError("fetch failed: offline");
    if (this.fail503.delete(path)) {
      return new Response(JSON.stringify({ type: "urn:fieldsync:problem:unavailable", title: "Service Unavailable", status: 503, detail: "test", code: "unavailable" }),
        { status: 503, headers: { "Content-Type": "application/problem+json", "Retry-After": "1" } });
    }
    const res = await fetch(input, init);
    if (this.loseNext.delete(path)) {
      await res.arrayBuffer();
      this.lost++;
      throw new TypeError("fetch failed: connection reset after the request was sent");
    }
    return res;
  }) as typeof fetch;
}

async function phone(net: Net, storage = new MemoryStorage(), deviceId: string = randomUUID()): Promise<{ c: FieldsyncClient; sleeps: number[]; opts: ClientOptions }> {
  const sleeps: number[] = [];
  const opts: ClientOptions = {
    baseUrl: BASE, deviceId, deviceName: "SDK test phone", platform: "android", storage, fetch: net.fetch,
    retry: { attempts: 4, baseMs: 10, maxMs: 50, jitter: 0 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return { c: await FieldsyncClient.open(opts), sleeps, opts };
}

function openTasks(c: FieldsyncClient, userId: string): Rec[] {
  return Object.values(c.recordsOf("tasks")).filter((t) => t.assignee_id === userId && (t.status === "assigned" || t.status === "in_progress"));
}

test("the offline loop converges against the real server", { skip }, async () => {
  const net = new Net();
  const storage = new MemoryStorage();
  const a = await phone(net, storage);
  const user = await a.c.login(USER, PASSWORD);
  const first = await a.c.pull();
  assert.ok(first.pages >= 1 && first.upserts > 0, `the first pull brought nothing: ${JSON.stringify(first)}`);
  assert.ok(a.c.cursor, "no cursor saved after the first pull");
  const tasks = openTasks(a.c, user.id);
  assert.ok(tasks.length >= 2, `${USER} has ${tasks.length} open tasks in the pull`);
  const assigned = tasks.find((t) => t.status === "assigned");
  assert.ok(assigned, "no assigned task to start");
  const taskId = assigned.id as string;

  // Offline: the edits wait in the outbox, which the storage keeps.
  net.offline = true;
  const notes: string[] = [randomUUID(), randomUUID(), randomUUID()];
  await a.c.enqueue("task.start", { task_id: taskId });
  for (const [i, id] of notes.entries()) await a.c.enqueue("note.add", { id, task_id: taskId, text: `离线记录 ${i + 1}：排口已封堵` });
  await assert.rejects(a.c.push(), /offline/);
  assert.equal(a.c.outbox().length, 4);
  const restarted = await phone(net, storage, a.c.deviceId); // the app is killed and started again
  assert.equal(restarted.c.outbox().length, 4);
  assert.equal(restarted.c.user?.id, user.id, "the session is kept across a restart");

  // Back online, and the first push's answer is lost after the server
  // applied it: the same ids go again and each mutation counts once.
  net.offline = false;
  net.loseNext.add("/v1/sync/push");
  const pushed = await restarted.c.push();
  assert.equal(net.lost, 1);
  assert.deepEqual(pushed.rejected, []);
  assert.equal(pushed.applied, 4);
  assert.equal(pushed.lastMutationId, 4);
  assert.deepEqual(restarted.c.outbox(), []);

  // A pull answered 503 first is retried after Retry-After.
  net.fail503.add("/v1/sync/pull");
  await restarted.c.pull();
  assert.ok(restarted.sleeps.includes(1000), `Retry-After not honoured: slept ${restarted.sleeps}`);
  assert.equal(restarted.c.recordsOf("tasks")[taskId]?.status, "in_progress");
  const mine = Object.values(restarted.c.recordsOf("notes")).filter((n) => notes.includes(n.id as string));
  assert.equal(mine.length, 3, "each offline note is on the server once");

  // A mutation the server refuses for good comes back rejected with its code.
  await restarted.c.enqueue("note.add", { id: randomUUID(), task_id: taskId, text: "   " });
  const refused = await restarted.c.push();
  assert.equal(refused.rejected.length, 1);
  assert.equal(refused.rejected[0]?.code, "required");

  // The inspector's second phone converges on the same records.
  const b = await phone(net);
  await b.c.login(USER, PASSWORD);
  await b.c.pull();
  const noteB = randomUUID();
  await b.c.enqueue("note.add", { id: noteB, task_id: taskId, text: "第二台手机的记录" });
  await b.c.enqueue("task.complete", { task_id: taskId });
  await b.c.sync();
  await restarted.c.sync();
  await b.c.sync();
  for (const entity of ["tasks", "notes", "verifications"] as const) {
    assert.deepEqual(restarted.c.recordsOf(entity), b.c.recordsOf(entity), `the two phones differ on ${entity}`);
  }
  assert.equal(b.c.recordsOf("tasks")[taskId]?.status, "completed");
  assert.ok(restarted.c.recordsOf("notes")[noteB]);

  // A cursor the server refuses is a reset: the outbox is pushed, the
  // records are pulled again from the start, and nothing is lost.
  const other = openTasks(restarted.c, user.id).find((t) => t.id !== taskId);
  assert.ok(other);
  await storage.set(`fieldsync:${restarted.c.deviceId}:cursor`, "not-a-cursor");
  const reopened = await phone(net, storage, restarted.c.deviceId);
  const noteR = randomUUID();
  await reopened.c.enqueue("note.add", { id: noteR, task_id: other.id as string, text: "重置前的记录" });
  const before = Object.keys(reopened.c.recordsOf("tasks")).length;
  const rep = await reopened.c.pull();
  assert.equal(rep.reset, true);
  assert.deepEqual(reopened.c.outbox(), []);
  assert.ok(reopened.c.recordsOf("notes")[noteR], "the note enqueued before the reset is not on the server");
  assert.equal(Object.keys(reopened.c.recordsOf("tasks")).length, before);
  assert.notEqual(reopened.c.cursor, "not-a-cursor");
});

test("evidence upload by the path the server names, with SHA-256", { skip: skip || (!PHOTO && "FIELDSYNC_SDK_PHOTO is not set") }, async () => {
  const net = new Net();
  const { c } = await phone(net);
  const user = await c.login(USER, PASSWORD);
  await c.pull();
  const task = openTasks(c, user.id)[0];
  assert.ok(task);
  const data = new Uint8Array(await readFile(PHOTO));
  const id = randomUUID();
  // The answer to the completion is lost after the server checked the
  // bytes: the SDK asks again and gets the same record.
  net.loseNext.add(`/v1/evidence/${id}/complete`);
  const captured_at = new Date().toISOString();
  const ev = await c.uploadEvidence({ id, task_id: task.id as string, kind: "photo", content_type: "image/jpeg", captured_at }, data);
  assert.equal(net.lost, 1);
  assert.equal(ev.id, id);
  assert.equal(ev.status, "verified", JSON.stringify(ev));
  assert.equal(ev.size, data.byteLength);
  const put = net.urls.find((u) => u.method === "PUT");
  assert.ok(put, "no upload sent");
  const streamed = new URL(put.url).pathname === `/v1/evidence/${id}/content`;
  assert.equal(streamed ? "streamed" : "presigned", UPLOAD || (streamed ? "streamed" : "presigned"), `upload went to ${put.url}`);
  // Idempotent: uploading the same evidence again answers the same record.
  const again = await c.uploadEvidence({ id, task_id: task.id as string, kind: "photo", content_type: "image/jpeg", captured_at }, data);
  assert.equal(again.status, "verified");
  assert.equal(again.sha256, ev.sha256);
  // A truncated photo arrives whole (its SHA-256 is of what is sent) and
  // is rejected as unreadable.
  const cut = await c.uploadEvidence({ id: randomUUID(), task_id: task.id as string, kind: "photo", content_type: "image/jpeg", captured_at }, data.slice(0, 2000));
  assert.equal(cut.status, "rejected", JSON.stringify(cut));
});
