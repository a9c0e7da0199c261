// An API object's name, read once and checked: a `metadata!.name!` chain
// fails with "cannot read properties of undefined", this says what lacked one.

/** The name of an object read from (or made for) the API server; throws naming its kind when it has none. */
export function nameOf(object: { kind?: string; metadata?: { name?: string } }): string {
  const name = object.metadata?.name;
  if (!name) throw new Error(`${object.kind ?? "an object"} without metadata.name, where the API server always gives one`);
  return name;
}

/** The node a pod was scheduled onto; throws naming the pod when the scheduler has not placed it. */
export function nodeNameOf(pod: { metadata?: { name?: string; namespace?: string }; spec?: { nodeName?: string } }): string {
  const node = pod.spec?.nodeName;
  if (!node) throw new Error(`pod ${pod.metadata?.namespace ?? "?"}/${pod.metadata?.name ?? "?"} is not scheduled onto a node`);
  return node;
}
