import { isAbsolute, relative } from "node:path";
import type { Command, Option } from "commander";
import { packageRoot } from "../package-root.js";

/*
 * One way every command's help and flag errors read: the global flags (--verbose, --quiet) listed
 * in each command's help, each default said once, in the flag's own terms (a bundled path relative
 * to the package, not this machine's absolute path), and a misspelled flag answered with "did you
 * mean" before any "required option missing".
 */

/** Options made optional for commander so its unknown-option check runs first; checkRequiredOptions checks them. */
const required = new WeakMap<Command, Option[]>();

/** Applies the rules to `program` and every command under it. */
export function tidyHelp(program: Command): void {
  const visit = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureHelp({ showGlobalOptions: true, optionDescription: describeOption });
    const mandatory = cmd.options.filter((o) => o.mandatory);
    for (const o of mandatory) o.mandatory = false;
    required.set(cmd, mandatory);
    cmd.commands.forEach(visit);
  };
  visit(program);
}

/** commander's "required option not specified", said after the flags were found to be known ones. */
export function checkRequiredOptions(cmd: Command): void {
  for (const o of required.get(cmd) ?? []) {
    if (cmd.getOptionValue(o.attributeName()) === undefined) {
      cmd.error(`error: required option '${o.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
    }
  }
}

/** The flag's description, then its choices and its default — unless the description already says the default. */
export function describeOption(o: Option): string {
  const extra: string[] = [];
  if (o.argChoices) extra.push(`choices: ${o.argChoices.join(", ")}`);
  const shown = o.required || o.optional; // a value flag; booleans' defaults are for programmers
  if (shown && o.defaultValue !== undefined && !/\bdefault\b/i.test(o.description)) extra.push(`default: ${o.defaultValueDescription ?? showValue(o.defaultValue)}`);
  return extra.length ? `${o.description} (${extra.join(", ")})` : o.description;
}

function showValue(v: unknown): string {
  if (typeof v === "string") return isAbsolute(v) ? displayPath(v) : v;
  if (Array.isArray(v)) return v.join(v.length === 2 && v.every(Number.isInteger) ? "x" : ",");
  return String(v);
}

/** An absolute default as the user can type it: relative to here, else to the vitlens package. */
function displayPath(p: string): string {
  const here = relative(process.cwd(), p);
  if (here && !here.startsWith("..") && !isAbsolute(here)) return here;
  const inPackage = relative(packageRoot(), p);
  return inPackage && !inPackage.startsWith("..") ? `${inPackage} (in the vitlens package)` : p;
}
