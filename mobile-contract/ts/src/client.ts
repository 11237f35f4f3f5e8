// The offline loop, written once for every JavaScript app (browser,
// WebView, React Native, mini programs through an injected fetch, Node):
// an outbox of typed mutations kept in a KeyValueStorage, pull with the
// cursor saved after each page, push with retries and backoff, reset
// handling, and evidence upload with SHA-256. It mirrors the Go reference
// client (mobile-contract/client*.go), which the server's tests use.
import { MemoryStorage, type KeyValueStorage } from "./storage.js";
import type {
  ArgsOf, Entity, Evidence, EvidenceCreated, EvidenceInput, Mutation, MutationName, MutationResult,
  PullResponse, PushResponse, TokenResponse,
} from "./types.js";

/** The sync protocol version this SDK speaks (schema_version). */
export const SCHEMA_VERSION = 1;

/** How often and how patiently to retry one request. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts: number;
  /** The first delay in ms (default 100), doubled after each failure up to maxMs. */
  baseMs: number;
  /** The longest delay in ms (default 5000); a Retry-After is honoured in full. */
  maxMs: number;
  /** Each delay is shortened by a random fraction of up to this (0..1, default 0.2). */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 100, maxMs: 5000, jitter: 0.2 };

export interface ClientOptions {
  /** The server's root, e.g. https://api.example.cn. */
  baseUrl: string;
  /** The device's UUID: sent at login and used as the sync client_id. Keep it with its storage. */
  deviceId: string;
  deviceName?: string;
  platform?: string;
  /** Where the outbox, cursor, records and tokens are kept (default: memory). */
  storage?: KeyValueStorage;
  /** The fetch to use (default globalThis.fetch); inject an adapter of wx.request or uni.request. */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  /** Waits between attempts (default a timer); tests inject one that records. */
  sleep?: (ms: number) => Promise<void>;
  /** Hex SHA-256 of bytes (default WebCrypto's crypto.subtle). */
  sha256?: (data: Uint8Array) => Promise<string>;
  /** The most mutations in one push (default 100, the server's limit). */
  pushBatch?: number;
  /** The page size asked for in a pull (default: the server's). */
  pullLimit?: number;
}

/** An error answer of the server (RFC 9457), or of a store it sent the device to. */
export class FieldsyncError extends Error {
  constructor(
    readonly status: number,
    /** The stable code (ErrorCode); empty when the answer was not a problem document. */
    readonly code: string,
    readonly detail: string,
    /** Retry-After in ms, when the answer carried one. */
    readonly retryAfterMs?: number,
  ) {
    super(`fieldsync: ${status}${code ? " " + code : ""}${detail ? ": " + detail : ""}`);
    this.name = "FieldsyncError";
  }
}

/** The server knows mutation ids this storage never assigned: the device id is used with a new or restored storage. */
export class MutationIdsReusedError extends Error {
  constructor(serverLast: number, localLast: number) {
    super(`fieldsync: the server's last mutation id ${serverLast} is beyond this storage's ${localLast} (device id reused with a new storage)`);
    this.name = "MutationIdsReusedError";
  }
}

export interface PushReport {
  /** Mutations sent, once per batch however many attempts it took. */
  sent: number;
  applied: number;
  /** Mutations refused for good: drop them and tell the user. */
  rejected: MutationResult[];
  lastMutationId: number;
}

export interface PullReport {
  pages: number;
  upserts: number;
  removes: number;
  /** The server asked for a reset, which was done. */
  reset: boolean;
}

interface Outbox {
  /** The last id assigned. */
  last: number;
  mutations: Mutation[];
}

interface Session {
  access: string;
  refresh: string;
  user: TokenResponse["user"];
}

interface HttpRequest {
  method: string;
  /** A path on the server, or an absolute URL (a presigned upload). */
  target: string;
  body?: () => string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  auth: boolean;
  /** Safe to send again after a lost answer (idempotent on the server). */
  safe: boolean;
}

const ENTITY_KEYS = "entities";
const MAX_RESETS = 3;

/** A device talking to a fieldsync server. Create one with FieldsyncClient.open. */
export class FieldsyncClient {
  private readonly base: string;
  private readonly storage: KeyValueStorage;
  private readonly fetch: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly digest: (data: Uint8Array) => Promise<string>;
  private readonly ns: string;
  private outboxState: Outbox = { last: 0, mutations: [] };
  private cursorState: string | null = null;
  private session: Session | null = null;
  private records = new Map<string, Map<string, Record<string, unknown>>>();
  private lock: Promise<unknown> = Promise.resolve();
  private refreshing: Promise<void> | null = null;

  private constructor(private readonly opts: ClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.storage = opts.storage ?? new MemoryStorage();
    const f = opts.fetch ?? globalThis.fetch;
    if (!f) throw new Error("fieldsync: no fetch: pass options.fetch");
    this.fetch = f.bind(globalThis);
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.digest = opts.sha256 ?? webCryptoSHA256;
    this.ns = `fieldsync:${opts.deviceId}:`;
  }

  /** Opens the client on its storage, loading the outbox, cursor, records and session kept there. */
  static async open(opts: ClientOptions): Promise<FieldsyncClient> {
    const c = new FieldsyncClient(opts);
    await c.load();
    return c;
  }

  private async load(): Promise<void> {
    const [outbox, cursor, session, entities] = await Promise.all([
      this.storage.get(this.ns + "outbox"), this.storage.get(this.ns + "cursor"),
      this.storage.get(this.ns + "session"), this.storage.get(this.ns + ENTITY_KEYS),
    ]);
    if (outbox) this.outboxState = JSON.parse(outbox) as Outbox;
    this.cursorState = cursor;
    if (session) this.session = JSON.parse(session) as Session;
    for (const entity of entities ? (JSON.parse(entities) as string[]) : []) {
      const raw = await this.storage.get(this.ns + "records:" + entity);
      this.records.set(entity, new Map(Object.entries(raw ? (JSON.parse(raw) as Record<string, Record<string, unknown>>) : {})));
    }
  }

  get deviceId(): string {
    return this.opts.deviceId;
  }

  /** The signed-in user, or null. */
  get user(): TokenResponse["user"] | null {
    return this.session?.user ?? null;
  }

  /** The saved pull cursor, null before the first page. */
  get cursor(): string | null {
    return this.cursorState;
  }

  /** The mutations not yet answered by the server, oldest first. */
  outbox(): Mutation[] {
    return this.outboxState.mutations.map((m) => ({ ...m }));
  }

  /** The local records of an entity, by id. */
  recordsOf(entity: Entity): Record<string, Record<string, unknown>> {
    return Object.fromEntries(this.records.get(entity) ?? []);
  }

  // --- Sign-in ------------------------------------------------------------

  /** Signs in on this device; the tokens are kept in the storage. */
  async login(username: string, password: string): Promise<TokenResponse["user"]> {
    const res = await this.call({
      method: "POST", target: "/v1/auth/login", auth: false, safe: true,
      body: () => JSON.stringify({
        username, password, device_id: this.opts.deviceId,
        device_name: this.opts.deviceName ?? "fieldsync-ts", ...(this.opts.platform ? { platform: this.opts.platform } : {}),
      }),
    });
    await this.keepTokens((await res.json()) as TokenResponse);
    return this.session!.user;
  }

  /** Ends the session on the server and forgets the tokens; the outbox and records stay. */
  async logout(): Promise<void> {
    if (this.session) await this.call({ method: "POST", target: "/v1/auth/logout", auth: true, safe: true });
    this.session = null;
    await this.storage.remove(this.ns + "session");
  }

  private async keepTokens(t: TokenResponse): Promise<void> {
    if (!t.access_token || !t.refresh_token) throw new Error("fieldsync: token response without tokens");
    this.session = { access: t.access_token, refresh: t.refresh_token, user: t.user };
    await this.storage.set(this.ns + "session", JSON.stringify(this.session));
  }

  /** Refreshes the tokens once, however many requests found theirs expired. */
  private renew(used: string): Promise<void> {
    if (this.session?.access !== used) return Promise.resolve(); // someone else renewed it
    this.refreshing ??= (async () => {
      try {
        const refresh = this.session?.refresh;
        if (!refresh) throw new FieldsyncError(401, "unauthenticated", "not signed in");
        // Not safe to repeat: a refresh token is single use, and presenting
        // a spent one ends the session (refresh_token_reused).
        const res = await this.call({ method: "POST", target: "/v1/auth/refresh", auth: false, safe: false, body: () => JSON.stringify({ refresh_token: refresh }) });
        await this.keepTokens((await res.json()) as TokenResponse);
      } catch (e) {
        if (e instanceof FieldsyncError && e.status === 401) {
          this.session = null;
          await this.storage.remove(this.ns + "session");
        }
        throw e;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  // --- The outbox -----------------------------------------------------------

  /**
   * Records an intent: the mutation takes the next id and is in the storage
   * when the promise resolves; the next push sends it. The arguments are
   * typed by the mutation's name.
   */
  async enqueue<N extends MutationName>(name: N, args: ArgsOf<N>, baseVersion?: number): Promise<number> {
    const id = this.outboxState.last + 1;
    const m = { id, name, args, ...(baseVersion !== undefined ? { base_version: baseVersion } : {}) } as Mutation;
    const next: Outbox = { last: id, mutations: [...this.outboxState.mutations, m] };
    await this.storage.set(this.ns + "outbox", JSON.stringify(next));
    this.outboxState = next;
    return id;
  }

  private async saveOutbox(o: Outbox): Promise<void> {
    await this.storage.set(this.ns + "outbox", JSON.stringify(o));
    this.outboxState = o;
  }

  /** Drops the answered mutations and every one up to through. */
  private async dropAnswered(ids: number[], through: number): Promise<void> {
    const answered = new Set(ids);
    const left = this.outboxState.mutations.filter((m) => !answered.has(m.id) && m.id > through);
    if (left.length !== this.outboxState.mutations.length) await this.saveOutbox({ last: this.outboxState.last, mutations: left });
  }

  // --- Push and pull ------------------------------------------------------

  private serialized<T>(f: () => Promise<T>): Promise<T> {
    const run = this.lock.then(f, f);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends the outbox in batches, oldest first. A batch whose answer is lost
   * is sent again with the same ids, which the server answers from the
   * results it kept, so each mutation takes effect once. Mutations enqueued
   * meanwhile wait for the next push. A 413 halves the batch.
   */
  push(): Promise<PushReport> {
    return this.serialized(() => this.pushNow());
  }

  private async pushNow(): Promise<PushReport> {
    const rep: PushReport = { sent: 0, applied: 0, rejected: [], lastMutationId: 0 };
    const last = this.outboxState.mutations[this.outboxState.mutations.length - 1];
    if (!last) return rep;
    const hi = last.id;
    let size = this.opts.pushBatch ?? 100;
    const pending = () => this.outboxState.mutations.filter((m) => m.id <= hi).slice(0, size);
    for (;;) {
      if (pending().length === 0) return rep;
      let sent: Mutation[] = [];
      let res: Response;
      try {
        res = await this.call({
          method: "POST", target: "/v1/sync/push", auth: true, safe: true,
          // Rebuilt from the outbox at each attempt: a repeat carries exactly the unanswered mutations.
          body: () => {
            sent = pending();
            return JSON.stringify({ client_id: this.opts.deviceId, schema_version: SCHEMA_VERSION, mutations: sent });
          },
        });
      } catch (e) {
        if (e instanceof FieldsyncError && e.status === 413 && sent.length > 1) {
          size = Math.floor(sent.length / 2);
          continue;
        }
        throw e;
      }
      const pr = (await res.json()) as PushResponse;
      rep.sent += sent.length;
      rep.lastMutationId = pr.last_mutation_id;
      if (pr.last_mutation_id > this.outboxState.last) throw new MutationIdsReusedError(pr.last_mutation_id, this.outboxState.last);
      for (const r of pr.results) {
        if (r.status === "applied") rep.applied++;
        else rep.rejected.push(r);
      }
      await this.dropAnswered(pr.results.map((r) => r.id), pr.last_mutation_id);
      const left = pending();
      if (left.length > 0 && left[0]!.id === sent[0]!.id) {
        throw new Error(`fieldsync: push: the server answered none of mutations ${sent[0]!.id}..${sent[sent.length - 1]!.id}`);
      }
    }
  }

  /**
   * Brings the local records up to date page by page, saving the cursor
   * after each page's changes. On a reset (or a cursor the server no
   * longer accepts) it pushes the outbox, drops the records and the cursor,
   * keeps the outbox, and pulls from the start.
   */
  pull(): Promise<PullReport> {
    return this.serialized(() => this.pullNow());
  }

  private async pullNow(): Promise<PullReport> {
    const rep: PullReport = { pages: 0, upserts: 0, removes: 0, reset: false };
    let resets = 0;
    for (;;) {
      const cursor = this.cursorState;
      let page: PullResponse;
      try {
        const res = await this.call({
          method: "POST", target: "/v1/sync/pull", auth: true, safe: true,
          body: () => JSON.stringify({
            client_id: this.opts.deviceId, cursor, schema_version: SCHEMA_VERSION,
            ...(this.opts.pullLimit ? { limit: this.opts.pullLimit } : {}),
          }),
        });
        page = (await res.json()) as PullResponse;
      } catch (e) {
        if (!(e instanceof FieldsyncError && e.code === "sync_cursor_invalid" && cursor !== null)) throw e;
        page = { reset: true, cursor: "", has_more: false, last_mutation_id: 0, changes: {} };
      }
      if (page.reset) {
        if (cursor === null || resets === MAX_RESETS) throw new Error(`fieldsync: pull: reset answered to a pull from cursor ${cursor} after ${resets} resets`);
        resets++;
        await this.pushNow();
        await this.dropRecords();
        rep.reset = true;
        continue;
      }
      if (!page.cursor) throw new Error("fieldsync: pull: page without a cursor");
      const { upserts, removes } = await this.apply(page);
      rep.pages++;
      rep.upserts += upserts;
      rep.removes += removes;
      if (page.last_mutation_id <= this.outboxState.last) {
        await this.dropAnswered([], page.last_mutation_id);
      } else if (this.outboxState.mutations.length === 0) {
        // A storage that lost its counter (a reinstalled app under an old
        // device id): continue after the server's.
        await this.saveOutbox({ last: page.last_mutation_id, mutations: [] });
      } else {
        throw new MutationIdsReusedError(page.last_mutation_id, this.outboxState.last);
      }
      if (!page.has_more) return rep;
      if (upserts + removes === 0 && cursor === page.cursor) throw new Error("fieldsync: pull: has_more with an empty page and an unchanged cursor");
    }
  }

  /** Applies a page's upserts, then its removes, and saves the cursor after them. */
  private async apply(page: PullResponse): Promise<{ upserts: number; removes: number }> {
    let upserts = 0;
    let removes = 0;
    const touched = new Set<string>();
    for (const [entity, ch] of Object.entries(page.changes ?? {})) {
      if (!ch) continue;
      let recs = this.records.get(entity);
      if (!recs) this.records.set(entity, (recs = new Map()));
      for (const rec of ch.upserts ?? []) {
        const id = (rec as { id?: unknown }).id;
        if (typeof id !== "string" || id === "") throw new Error(`fieldsync: pull: a ${entity} upsert has no string id`);
        recs.set(id, rec as Record<string, unknown>);
        upserts++;
      }
      for (const id of ch.removes ?? []) {
        recs.delete(id);
        removes++;
      }
      touched.add(entity);
    }
    // Records first, the cursor last: a crash in between pulls the same
    // page again, and applying it twice is harmless.
    for (const entity of touched) {
      await this.storage.set(this.ns + "records:" + entity, JSON.stringify(Object.fromEntries(this.records.get(entity)!)));
    }
    await this.storage.set(this.ns + ENTITY_KEYS, JSON.stringify([...this.records.keys()]));
    await this.storage.set(this.ns + "cursor", page.cursor);
    this.cursorState = page.cursor;
    return { upserts, removes };
  }

  private async dropRecords(): Promise<void> {
    await this.storage.remove(this.ns + "cursor");
    this.cursorState = null;
    for (const entity of this.records.keys()) await this.storage.remove(this.ns + "records:" + entity);
    await this.storage.remove(this.ns + ENTITY_KEYS);
    this.records.clear();
  }

  /** Pushes the outbox, then pulls. */
  sync(): Promise<{ push: PushReport; pull: PullReport }> {
    return this.serialized(async () => ({ push: await this.pushNow(), pull: await this.pullNow() }));
  }

  // --- Evidence -------------------------------------------------------------

  /**
   * Sends one file as a phone does when back online: declares it (SHA-256
   * and size computed here), sends the bytes where the server says (a
   * presigned URL of the store, or the API itself), and completes it. Every
   * step is idempotent on the evidence id: after a failure, call it again.
   * Returns the completed evidence, verified or rejected.
   */
  async uploadEvidence(decl: Omit<EvidenceInput, "sha256" | "size">, data: Uint8Array): Promise<Evidence> {
    const input: EvidenceInput = { ...decl, sha256: await this.digest(data), size: data.byteLength };
    const res = await this.call({ method: "POST", target: "/v1/evidence", auth: true, safe: true, body: () => JSON.stringify(input) });
    const created = (await res.json()) as EvidenceCreated;
    const up = created.upload;
    // No target: the server already has the bytes (an earlier attempt got that far).
    if (up.method) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(up.headers ?? {})) {
        if (k.toLowerCase() !== "content-length") headers[k] = v; // fetch sets it from the body
      }
      await this.call({
        method: up.method, target: up.url, auth: up.url.startsWith("/"), safe: true,
        contentType: "application/octet-stream", headers, body: () => data,
      });
    }
    const done = await this.call({ method: "POST", target: `/v1/evidence/${encodeURIComponent(decl.id)}/complete`, auth: true, safe: true });
    return (await done.json()) as Evidence;
  }

  // --- HTTP -----------------------------------------------------------------

  /** Sends a JSON request to the API with the session's token, retries and one refresh; resolves to the decoded answer. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call({
      method, target: path, auth: true, safe: method === "GET" || method === "HEAD",
      ...(body !== undefined ? { body: () => JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async call(req: HttpRequest): Promise<Response> {
    if (req.auth && !this.session) throw new FieldsyncError(401, "unauthenticated", "not signed in: call login first");
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const token = req.auth ? this.session?.access ?? "" : "";
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.once(req, token);
      } catch (e) {
        failure = e;
        if (!req.safe) throw e; // the request may have arrived: sending it again could repeat it
      }
      let wait = 0;
      if (res) {
        if (res.status < 300) return res;
        const err = await problemOf(res);
        if (req.auth && !refreshed && err.status === 401 && err.code === "token_expired") {
          refreshed = true;
          await this.renew(token);
          attempt--; // the refresh is not a failure of this request
          continue;
        }
        if (!(err.status >= 500 || err.status === 408 || err.status === 429)) throw err;
        failure = err;
        wait = err.retryAfterMs ?? 0;
      }
      if (attempt >= this.retry.attempts) throw failure;
      await this.sleep(Math.max(wait, this.backoff(attempt)));
    }
  }

  /** The delay after the given failed attempt (1-based), in ms. */
  private backoff(attempt: number): number {
    let d = this.retry.baseMs;
    for (let i = 1; i < attempt && d < this.retry.maxMs; i++) d *= 2;
    d = Math.min(d, this.retry.maxMs);
    return d - d * this.retry.jitter * Math.random();
  }

  private once(req: HttpRequest, token: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const body = req.body?.();
    if (body !== undefined) headers["Content-Type"] = req.contentType ?? "application/json";
    Object.assign(headers, req.headers);
    if (req.auth) headers.Authorization = "Bearer " + token;
    const url = /^https?:\/\//.test(req.target) ? req.target : this.base + req.target;
    return this.fetch(url, { method: req.method, headers, ...(body !== undefined ? { body: body as BodyInit } : {}) });
  }
}

/** Reads an error answer: a problem document, or anything else by its status alone. */
async function problemOf(res: Response): Promise<FieldsyncError> {
  const ra = res.headers.get("Retry-After");
  const retryAfterMs = ra && /^\d+$/.test(ra) ? Number(ra) * 1000 : undefined;
  const text = await res.text().catch(() => "");
  let code = "";
  let detail = text.slice(0, 200);
  if ((res.headers.get("Content-Type") ?? "").includes("json")) {
    try {
      const p = JSON.parse(text) as { code?: unknown; detail?: unknown };
      if (typeof p.code === "string") code = p.code;
      if (typeof p.detail === "string") detail = p.detail;
    } catch {
      // not JSON after all: keep the text
    }
  }
  return new FieldsyncError(res.status, code, detail, retryAfterMs);
}

/** Hex SHA-256 with WebCrypto (browsers, WebViews, Node 20). */
export async function webCryptoSHA256(data: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error("fieldsync: no WebCrypto here (crypto.subtle): pass options.sha256");
  const sum = new Uint8Array(await subtle.digest("SHA-256", data as BufferSource));
  return Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
}
