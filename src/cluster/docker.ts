import { getContainerRuntimeClient, ImageName } from "testcontainers";
import { managedBy, runLabel } from "../labels.ts";

/**
 * Whether the Docker engine can start a privileged container from `image`. On
 * machines whose capability bounding set lacks a capability (CAP_SYS_RESOURCE
 * in some sandboxes) runc fails with "unable to apply caps"; any other outcome,
 * including the probe's command not existing in the image, means it works.
 */
export async function probePrivilegedMode(image: string): Promise<{ works: boolean; reason: string }> {
  const client = await getContainerRuntimeClient();
  const container = await client.container.create({
    Image: image,
    Entrypoint: ["/bin/true"],
    Cmd: [],
    Labels: { ...managedBy, [runLabel]: "privileged-probe" },
    HostConfig: { Privileged: true },
  });
  try {
    await client.container.start(container);
    return { works: true, reason: "a privileged container started" };
  } catch (error) {
    const message = firstLine(String((error as Error).message ?? error));
    if (/apply caps|capabilit/i.test(message)) return { works: false, reason: message };
    return { works: true, reason: `the probe failed for an unrelated reason: ${message}` };
  } finally {
    await client.container.remove(container, { removeVolumes: true }).catch(() => undefined);
  }
}

export async function imageExists(image: string): Promise<boolean> {
  const client = await getContainerRuntimeClient();
  return client.image.exists(ImageName.fromString(image));
}

/** Pulls an image, giving up after `timeoutMs`; resolves to the reason on failure. */
export async function tryPull(image: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = await getContainerRuntimeClient();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the registry within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.image.pull(ImageName.fromString(image)), deadline]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: firstLine(String((error as Error).message ?? error)) };
  } finally {
    clearTimeout(timer);
  }
}

export function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 300);
}
