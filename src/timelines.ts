/**
 * Timelines a check records and the report charts: pure data, at the src root
 * because conformance/ builds them and report/ renders them.
 */

/** Acknowledged commits over time (the ledger writer), with the disruptions and recoveries marked. */
export interface AckTimeline {
  binS: number;
  /** Acknowledged commits per bin, from the first bin on. */
  acks: number[];
  /** Events on the same clock, in seconds from the first bin. */
  marks: { label: string; atS: number }[];
}

/** A disruption's milestones (node NotReady, pod evicted, replacement Ready...), in seconds from it. */
export interface MilestoneTimeline {
  disruption: string;
  budgetS?: number;
  milestones: { name: string; atS: number; detail?: string }[];
}
