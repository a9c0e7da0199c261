import type { LoadedObject } from "../../src/manifests/load.ts";

/** Which manifests, as a run applies them: a directory, the engine's image swapped in, the claims' StorageClass. */
export interface ManifestsAsRun {
  dir: string;
  image?: string;
  storageClass?: string;
}

/**
 * `load` once per directory, image and StorageClass, for as long as the
 * module lives (a worker; with vitest's isolation, a test file): the YAML is
 * parsed once, not once per check. Each call returns its own copy of the
 * objects, so a check that edits one changes no other's.
 */
export function loadedOnce(load: (which: ManifestsAsRun) => LoadedObject[]): (which: ManifestsAsRun) => LoadedObject[] {
  const loaded = new Map<string, LoadedObject[]>();
  return (which) => {
    const key = JSON.stringify([which.dir, which.image ?? null, which.storageClass ?? null]);
    let objects = loaded.get(key);
    if (!objects) {
      objects = load(which);
      loaded.set(key, objects);
    }
    return objects.map((o) => ({ ...o, object: structuredClone(o.object) }));
  };
}
