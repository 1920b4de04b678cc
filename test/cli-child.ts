import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { root } from "./helpers.js";

/** What a finished `vitlens` child gave: its exit code (null when a signal ended it), stdout, stderr. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const bin = join(root, "bin", "vitlens.js");

/** `vitlens ARGS` to the end, from the repository root. */
export function vitlens(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: root, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `vitlens ARGS` as a child to act on while it runs: `whenStderr(re)` resolves once stderr matches,
 * `done` once it exits.
 */
export function startVitlens(args: string[], env: Record<string, string> = {}): {
  child: ChildProcessWithoutNullStreams; done: Promise<CliResult>; whenStderr(re: RegExp): Promise<void>; whenStdout(re: RegExp): Promise<void>;
} {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  const waiters: Array<{ re: RegExp; on: "stdout" | "stderr"; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(w.on === "stdout" ? stdout : stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on("data", (d: Buffer) => ((stdout += d), check()));
  child.stderr.on("data", (d: Buffer) => ((stderr += d), check()));
  child.stdout.on("error", () => undefined); // the test may close it
  const done = new Promise<CliResult>((ok) => child.on("close", (code, signal) => ok({ code, signal, stdout, stderr })));
  const when = (on: "stdout" | "stderr") => (re: RegExp) => new Promise<void>((resolve, reject) => {
    waiters.push({ re, on, resolve });
    check();
    void done.then((r) => reject(new Error(`vitlens exited (${r.code ?? r.signal}) before ${on} matched ${re}:\n${r.stderr}`)));
  });
  return { child, done, whenStderr: when("stderr"), whenStdout: when("stdout") };
}
