// Only for ledger-writer.ts, which is being changed on another branch: delete
// this file once it imports rootPasswordSource from manifests/workload.ts.
export { rootPasswordSource } from "../manifests/workload.ts";
