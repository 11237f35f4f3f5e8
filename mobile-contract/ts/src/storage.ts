// Where the SDK keeps its state on the device: a small key-value
// interface, with adapters for memory, Web Storage (localStorage, or any
// object with getItem/setItem/removeItem, such as a wrapper of
// uni.getStorageSync or wx.getStorageSync) and IndexedDB.

/** A string key-value store. Each set is durable once its promise resolves. */
export interface KeyValueStorage {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
}

/** Keeps everything in memory: for tests, and for a session that may lose its work. */
export class MemoryStorage implements KeyValueStorage {
  private readonly map = new Map<string, string>();
  async get(key: string): Promise<string | null> {
    return this.map.get(key) ?? null;
  }
  async set(key: string, value: string): Promise<void> {
    this.map.set(key, value);
  }
  async remove(key: string): Promise<void> {
    this.map.delete(key);
  }
  /** The keys stored, for tests. */
  keys(): string[] {
    return [...this.map.keys()];
  }
}

/** The synchronous Web Storage API (window.localStorage), or anything shaped like it. */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Web Storage: localStorage in a browser or WebView. Browsers limit it to
 * about 5 MB per origin; prefer IndexedDBStorage where it exists.
 */
export class WebStorage implements KeyValueStorage {
  constructor(private readonly store: WebStorageLike, private readonly prefix = "") {}
  async get(key: string): Promise<string | null> {
    return this.store.getItem(this.prefix + key);
  }
  async set(key: string, value: string): Promise<void> {
    this.store.setItem(this.prefix + key, value); // throws QuotaExceededError when full
  }
  async remove(key: string): Promise<void> {
    this.store.removeItem(this.prefix + key);
  }
}

/**
 * IndexedDB: one object store of strings by key. Each set is its own
 * transaction and resolves once it has committed.
 */
export class IndexedDBStorage implements KeyValueStorage {
  private db: Promise<IDBDatabase> | undefined;

  constructor(
    private readonly name = "fieldsync",
    private readonly factory: IDBFactory = globalThis.indexedDB,
  ) {
    if (!factory) throw new Error("fieldsync: IndexedDB is not available here; use WebStorage or MemoryStorage");
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.factory.open(this.name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore("kv");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return this.db;
  }

  private async run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<T> {
    const db = await this.open();
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction("kv", mode);
      const req = op(tx.objectStore("kv"));
      let result: T;
      req.onsuccess = () => {
        result = req.result as T;
      };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error ?? req.error);
      tx.onabort = () => reject(tx.error ?? new Error("fieldsync: IndexedDB transaction aborted"));
    });
  }

  async get(key: string): Promise<string | null> {
    const v = await this.run<unknown>("readonly", (s) => s.get(key));
    return typeof v === "string" ? v : null;
  }
  async set(key: string, value: string): Promise<void> {
    await this.run("readwrite", (s) => s.put(value, key));
  }
  async remove(key: string): Promise<void> {
    await this.run("readwrite", (s) => s.delete(key));
  }
  /** Closes the database; the next call opens it again. */
  async close(): Promise<void> {
    if (this.db) (await this.db).close();
    this.db = undefined;
  }
}
