// --expect 'NAME<=NUMBER': a limit on one of the performance values a run
// measured, written on the command line, judged after the run.

export type Operator = "<=" | ">=" | "<" | ">" | "=";

export interface Expectation {
  name: string;
  op: Operator;
  threshold: number;
  /** The expectation without spaces, as messages quote it: "fio_fsync_p99_ms<=10". */
  text: string;
}

const form = "(form: NAME<=NUMBER, operators <= >= < > =, e.g. --expect 'fio_fsync_p99_ms<=10')";

/** 'fio_fsync_p99_ms<=10', with spaces allowed around the operator. */
export function parseExpectation(text: string): Expectation {
  const fail = (why: string) => new Error(`--expect '${text}': ${why} ${form}`);
  // The two-character operators first, so "<=" is not read as "<" followed by "=10".
  const match = /^(.*?)(<=|>=|<|>|=)(.*)$/s.exec(text);
  if (!match) throw fail(text.trim() === "" ? "it is empty" : "it has no operator");
  const name = match[1]!.trim();
  const op = match[2] as Operator;
  const threshold = match[3]!.trim();
  if (name === "") throw fail("no value is named before the operator");
  if (!/^[a-z0-9_]+$/.test(name)) throw fail(`the name '${name}' is not made of a-z, 0-9 and _ only`);
  if (threshold === "") throw fail(`no number follows ${op}`);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(threshold)) throw fail(`'${threshold}' is not a number`);
  return { name, op, threshold: Number(threshold), text: `${name}${op}${threshold}` };
}

export interface ExpectationVerdict {
  expectation: Expectation;
  /** The value measured, when there was a number to judge. */
  seen?: number;
  ok: boolean;
  message: string;
}

const holds: Record<Operator, (seen: number, threshold: number) => boolean> = {
  "<=": (seen, threshold) => seen <= threshold,
  ">=": (seen, threshold) => seen >= threshold,
  "<": (seen, threshold) => seen < threshold,
  ">": (seen, threshold) => seen > threshold,
  "=": (seen, threshold) => seen === threshold,
};

/** Six significant digits, so 14.2 - 10 reads 4.2 and not 4.199999999999999. */
const shown = (value: number) => String(Number(value.toPrecision(6)));
const withUnit = (value: number, unit: string) => (unit ? `${shown(value)} ${unit}` : shown(value));

/** A value as a message quotes it: strings in quotes, objects as JSON, NaN as NaN (not JSON's null). */
function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value !== null && typeof value === "object") {
    try {
      return JSON.stringify(value);
    } catch {
      // A bigint or a cycle inside: String() below still names it.
    }
  }
  return String(value);
}

function verdict(expectation: Expectation, seen: number, unit: string): ExpectationVerdict {
  const { text, threshold } = expectation;
  if (holds[expectation.op](seen, threshold)) return { expectation, seen, ok: true, message: `${text} holds: ${withUnit(seen, unit)}` };
  const missedBy = Math.abs(seen - threshold);
  if (missedBy === 0) return { expectation, seen, ok: false, message: `${text} missed: measured ${withUnit(seen, unit)}, the limit itself` };
  const percent = (missedBy / Math.abs(threshold)) * 100;
  const relative = threshold === 0 ? "" : ` (${percent >= 10 ? Math.round(percent) : Number(percent.toPrecision(2))}% ${seen > threshold ? "over" : "under"})`;
  return { expectation, seen, ok: false, message: `${text} missed by ${withUnit(missedBy, unit)}${relative}: measured ${withUnit(seen, unit)}` };
}

/** Each expectation judged against the values the run measured; a value that is missing or not a number fails its expectation, saying why. */
export function evaluateExpectations(expectations: Expectation[], values: Record<string, { value: unknown; unit: string }>): ExpectationVerdict[] {
  const measured = Object.keys(values);
  return expectations.map((expectation) => {
    const entry = Object.hasOwn(values, expectation.name) ? values[expectation.name] : undefined;
    if (entry === undefined) {
      const present = measured.length ? `performance values: ${measured.join(", ")}` : "no performance values were measured";
      return { expectation, ok: false, message: `no value named ${expectation.name} was measured in this run (${present})` };
    }
    if (typeof entry.value !== "number" || !Number.isFinite(entry.value)) {
      return { expectation, ok: false, message: `${expectation.text} cannot be judged: ${expectation.name} is ${describeValue(entry.value)}, not a number` };
    }
    return verdict(expectation, entry.value, entry.unit);
  });
}

/** A check of the run, as the expectations check sees it: whether it has finished, and the values it recorded. */
export interface MeasuringCheck {
  name: string;
  finished: boolean;
  values: Record<string, { value: unknown; unit: string }>;
}

/**
 * The values the other checks recorded, to judge the expectations on (a name
 * recorded by two checks keeps the later one's), and the checks that have not
 * finished: judged before them, a threshold would fail as never measured.
 */
export function measuredBy(checks: MeasuringCheck[]): { values: Record<string, { value: unknown; unit: string }>; unfinished: string[] } {
  return {
    values: Object.assign({}, ...checks.filter((c) => c.finished).map((c) => c.values)),
    unfinished: checks.filter((c) => !c.finished).map((c) => c.name),
  };
}
