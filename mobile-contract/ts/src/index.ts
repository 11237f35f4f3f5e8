export * from "./client.js";
export * from "./storage.js";
export type * from "./types.js";
export type { components, paths } from "./schema.js";
