import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { VitlensError } from "../errors.js";
import { loadModel, type LoadedModel, type LoadOptions } from "../checkpoint/load.js";
import { VIT_PRESETS } from "../models/vit-config.js";
import { hubOptionsFromEnv, type HubOptions } from "./download.js";
import { downloadModel, parseHubId } from "./snapshot.js";

/*
 * What a `--model` string names, said the same way by the CLI and the library: a local path (a run
 * folder means its best/ model), a preset, or a Hugging Face Hub id — `owner/name[@revision]`,
 * or explicitly `hf-hub:owner/name` (timm's spelling) or `hf:owner/name`. A string that looks like
 * a path is never sent to the Hub: a mistyped path is "no such file", not a network error.
 */

/** File endings of weights and configs: `x.safetensors` is a path, whatever else it could be. */
const PATH_ENDING = /\.(safetensors|pth|pt|bin|npz|json|ckpt|tar)$/i;
const HUB_PREFIX = /^(hf-hub|hf):/;

export type ModelSpec =
  | { kind: "local"; path: string }
  | { kind: "preset"; name: string }
  | { kind: "missing"; path: string }
  | { kind: "hub"; id: string; explicit: boolean };

/** `~/x` as the shell would have expanded it. */
function expandHome(spec: string): string {
  return spec === "~" || spec.startsWith("~/") ? join(homedir(), spec.slice(1)) : spec;
}

/**
 * A spec that must be a path: it ends like a weights or config file, starts with `.`, `/` or `~`,
 * or its folder part exists here (`models/nope` when `models/` does). Hub ids can hold dots
 * (`timm/vit_base_patch16_224.augreg2_in21k_ft_in1k`), so a dot alone says nothing.
 */
export function looksLikePath(spec: string): boolean {
  if (PATH_ENDING.test(spec) || /^[./~]/.test(spec)) return true;
  const parent = dirname(spec);
  return parent !== "." && existsSync(parent) && statSync(parent).isDirectory();
}

export function classifyModelSpec(spec: string, flag?: string): ModelSpec {
  const prefixed = HUB_PREFIX.exec(spec);
  if (prefixed) {
    const id = spec.slice(prefixed[0].length);
    if (!parseHubId(id)) throw new VitlensError(`${flag ? `${flag} ` : ""}${spec}: expected ${prefixed[1]}:owner/name[@revision] (a Hugging Face Hub model id)`);
    return { kind: "hub", id, explicit: true };
  }
  const path = expandHome(spec);
  if (existsSync(path)) return { kind: "local", path };
  if (spec in VIT_PRESETS) return { kind: "preset", name: spec };
  if (looksLikePath(spec)) return { kind: "missing", path: spec };
  if (parseHubId(spec)) return { kind: "hub", id: spec, explicit: false };
  return { kind: "local", path }; // loadModel names what it is not
}

/** A run folder stands for its best model; anything else as it is. */
export function runBestModel(path: string): string {
  return existsSync(join(path, "best", "config.json")) ? join(path, "best") : path;
}

/**
 * The local folder or file a spec names, a Hub id downloaded into the HF cache first. `flag`
 * names the option in errors; `optionalFiles` are fetched with a Hub model when it has them.
 */
export async function resolveModelSpec(spec: string, hub: HubOptions, o: { flag?: string; optionalFiles?: string[] } = {}): Promise<string> {
  const flag = o.flag ?? "--model";
  const s = classifyModelSpec(spec, flag);
  if (s.kind === "local") return runBestModel(s.path);
  if (s.kind === "preset") return s.name;
  if (s.kind === "missing") throw new VitlensError(`${flag} ${spec}: no such file or folder`);
  try {
    return await downloadModel(s.id, hub, { optionalFiles: o.optionalFiles });
  } catch (e) {
    if (!(e instanceof VitlensError)) throw e;
    if (s.explicit) throw new VitlensError(`${flag} ${spec}: ${e.message}`);
    if (hub.offline) throw e; // the Hub was not asked: the cache is what is missing
    // owner/name that is neither here nor on the Hub: both readings, in one line
    throw new VitlensError(`${flag} ${spec}: no such file or folder here, and as a Hugging Face Hub id: ${e.message}`);
  }
}

/** openModel's options: loadModel's, plus where and how the Hub is reached (default: the HF_* variables). */
export interface OpenModelOptions extends LoadOptions {
  hub?: Partial<HubOptions>;
}

/**
 * loadModel for everything `--model` takes, Hub ids included (downloaded into the Hugging Face
 * cache as the CLI does, then loaded). `loadModel` stays synchronous and reads local paths and presets.
 */
export async function openModel(spec: string, options: OpenModelOptions = {}): Promise<LoadedModel> {
  const { hub, ...load } = options;
  return loadModel(await resolveModelSpec(spec, { ...hubOptionsFromEnv(), ...hub }), load);
}
