import type { Backend } from "../backend/backend.js";
import { cpuFeatures, resolvePrecision, withPrecision, type Precision, type PrecisionRequest } from "../backend/precision.js";
import { VitlensError } from "../errors.js";

/**
 * The backend a run trains on, at the precision its options record (they are saved with every
 * state, so a resume knows how the run was trained). `resumeRequest`: undefined for a new run,
 * else the --precision given with --resume (null when none). A bf16 run resumed on a CPU without
 * bf16 units stops, unless --precision says what to continue with; a change is warned about and
 * recorded (o.precision is updated, and saved with the next state).
 */
export function runBackend(
  be: Backend, o: { precision: Precision; out: string }, resumeRequest: PrecisionRequest | null | undefined, log: (line: string) => void,
): Backend {
  const saved = o.precision;
  if (resumeRequest === undefined || resumeRequest === null) {
    if (resumeRequest === null && saved === "bf16" && !cpuFeatures(be)?.nativeBf16) {
      const isa = cpuFeatures(be)?.isa ?? `the ${be.name} backend`;
      throw new VitlensError(
        `--resume ${o.out}: this run trained with bf16 products, which this CPU cannot run (${isa}); ` +
          "add --precision fp32 to continue it in fp32 (or bf16-emulated to keep the bf16 rounding)",
      );
    }
    const { precision, note } = resolvePrecision(saved, be);
    if (note) log(note);
    return withPrecision(be, precision);
  }
  const { precision, note } = resolvePrecision(resumeRequest, be);
  if (note) log(note);
  if (precision !== saved) log(`warning: this run trained with ${saved} products; continuing with ${precision} (recorded in the run state)`);
  o.precision = precision;
  return withPrecision(be, precision);
}
