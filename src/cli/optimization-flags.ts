import type { Command } from "commander";
import { VitlensError } from "../errors.js";
import { optimizationSchema, type OptimizationOptions } from "../train/run-options.js";
import { getBackend } from "../backend/index.js";
import { resolvePrecision } from "../backend/precision.js";
import { num, schemaArg, withPrecisionFlag, type PrecisionFlagValues } from "./options.js";

/** A trainer's defaults; `lr` and `weightDecay` may depend on the optimizer. */
export interface OptimizationDefaults {
  optimizer: "sgd" | "adamw";
  lr: (optimizer: "sgd" | "adamw") => number;
  momentum: number;
  weightDecay: (optimizer: "sgd" | "adamw") => number;
  schedule: "step" | "cosine" | "constant";
  stepSize: number;
  gamma: number;
  warmupSteps: number;
  clipGrad: number;
  epochs: number;
  batchSize: number;
}

/** The flags as commander parses them: unset flags stay undefined, so a recipe can fill them. */
export interface OptimizationFlags extends PrecisionFlagValues {
  optimizer?: string; lr?: number; momentum?: number; nesterov?: boolean; weightDecay?: number; schedule?: string;
  stepSize?: number; gamma?: number; warmupSteps?: number; clipGrad?: number; epochs?: number; batchSize?: number;
  seed?: number; strict?: boolean;
}

/** --out / --resume / --force: where a trainer's run lives (`what`: what best/ and last/ hold). */
export function addRunFolderFlags(cmd: Command, what: string): Command {
  return cmd
    .option("--out <run>", `run folder: metrics.jsonl, best/ and last/ ${what}, resumable state`)
    .option("--resume <run>", "continue a run exactly where it stopped")
    .option("--force", "start over in a non-empty --out folder");
}

/** The optimizer, schedule, length, batch, seed and precision flags every trainer takes, with its defaults in the help. */
export function addOptimizationFlags(cmd: Command, d: OptimizationDefaults, strictHelp: string): Command {
  const f = optimizationSchema.shape; // each flag accepts what a saved run's option does
  return withPrecisionFlag(cmd, "fp32; with --resume: what the run recorded")
    .option("--epochs <n>", `epochs (default ${d.epochs}; with --resume: train the run to this many epochs)`, schemaArg(f.epochs))
    .option("--batch-size <n>", `samples per step (default ${d.batchSize})`, schemaArg(f.batchSize))
    .option("--optimizer <sgd|adamw>", `optimizer (default ${d.optimizer})`)
    .option("--lr <lr>", `base learning rate (default ${d.lr("sgd")} for sgd, ${d.lr("adamw")} for adamw)`, schemaArg(f.lr))
    .option("--momentum <m>", `SGD momentum, in [0, 1) (default ${d.momentum})`, schemaArg(f.momentum))
    .option("--nesterov", "Nesterov momentum")
    .option("--weight-decay <wd>", `weight decay (decoupled for AdamW; not on biases, norms, embeddings; default ${d.weightDecay("sgd")} for sgd, ${d.weightDecay("adamw")} for adamw)`, schemaArg(f.weightDecay))
    .option("--schedule <step|cosine|constant>", `learning-rate schedule (default ${d.schedule})`)
    .option("--step-size <epochs>", `StepLR period in epochs (default ${d.stepSize})`, schemaArg(f.stepSize))
    .option("--gamma <g>", `StepLR factor (default ${d.gamma})`, schemaArg(f.gamma))
    .option("--warmup-steps <n>", `linear warmup steps for cosine (default ${d.warmupSteps})`, schemaArg(f.warmupSteps))
    .option("--clip-grad <norm>", `clip the global gradient norm, 0: off (default ${d.clipGrad})`, schemaArg(f.clipGrad))
    .option("--seed <n>", "seed for init, data order, augmentation, dropout (default 0)", (v) => Math.floor(num("--seed")(v)))
    .option("--strict", strictHelp);
}

/**
 * Flag, else recipe, else the trainer's default; enumerations checked with a message naming the
 * flag; --precision resolved here (auto -> what this CPU runs, said on stderr) for a new run.
 */
export function resolveOptimization(f: OptimizationFlags, recipe: Partial<OptimizationOptions>, d: OptimizationDefaults): OptimizationOptions {
  const optimizer = f.optimizer ?? recipe.optimizer ?? d.optimizer;
  if (optimizer !== "sgd" && optimizer !== "adamw") throw new VitlensError(`--optimizer ${optimizer}: expected sgd or adamw`);
  const schedule = f.schedule ?? recipe.schedule ?? d.schedule;
  if (schedule !== "step" && schedule !== "cosine" && schedule !== "constant") throw new VitlensError(`--schedule ${schedule}: expected step, cosine or constant`);
  return {
    optimizer, schedule,
    lr: f.lr ?? recipe.lr ?? d.lr(optimizer),
    momentum: f.momentum ?? recipe.momentum ?? d.momentum,
    nesterov: f.nesterov ?? recipe.nesterov ?? false,
    weightDecay: f.weightDecay ?? recipe.weightDecay ?? d.weightDecay(optimizer),
    stepSize: f.stepSize ?? recipe.stepSize ?? d.stepSize,
    gamma: f.gamma ?? recipe.gamma ?? d.gamma,
    warmupSteps: f.warmupSteps ?? recipe.warmupSteps ?? d.warmupSteps,
    clipGrad: f.clipGrad ?? recipe.clipGrad ?? d.clipGrad,
    epochs: f.epochs ?? recipe.epochs ?? d.epochs,
    batchSize: f.batchSize ?? recipe.batchSize ?? d.batchSize,
    seed: f.seed ?? 0,
    strict: f.strict ?? false,
    precision: newRunPrecision(f),
  };
}

function newRunPrecision(f: PrecisionFlagValues) {
  const { precision, note } = resolvePrecision(f.precision ?? "fp32", getBackend());
  if (note) process.stderr.write(`vitlens: ${note}\n`);
  return precision;
}
