// The wire types, generated from ../openapi.yaml into schema.d.ts by
// `npm run gen` (openapi-typescript); nothing here is written by hand
// except the names.
import type { components } from "./schema.js";

export type Schemas = components["schemas"];
export type Mutation = Schemas["Mutation"];
export type MutationName = Mutation["name"];
/** The typed arguments of the mutation called N. */
export type ArgsOf<N extends MutationName> = Extract<Mutation, { name: N }>["args"];
export type PushRequest = Schemas["PushRequest"];
export type PushResponse = Schemas["PushResponse"];
export type MutationResult = Schemas["MutationResult"];
export type PullRequest = Schemas["PullRequest"];
export type PullResponse = Schemas["PullResponse"];
export type SyncChanges = Schemas["SyncChanges"];
export type Entity = keyof SyncChanges;
export type Problem = Schemas["Problem"];
export type ErrorCode = Schemas["ErrorCode"];
export type TokenResponse = Schemas["TokenResponse"];
export type LoginRequest = Schemas["LoginRequest"];
export type EvidenceCreated = Schemas["EvidenceCreated"];
export type Evidence = Schemas["Evidence"];
export type EvidenceInput = Schemas["EvidenceInput"];
export type UploadTarget = Schemas["UploadTarget"];
