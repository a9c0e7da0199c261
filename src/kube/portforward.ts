import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import { PortForward } from "@kubernetes/client-node";
import type { Kube } from "./client.ts";

export interface Forward {
  localPort: number;
  close(): Promise<void>;
}

/**
 * Forwards a local loopback port to a pod's port. A forward dies with its pod:
 * open a new one after the pod changes, never carry one across a deletion.
 */
export async function forwardPort(kube: Kube, namespace: string, pod: string, port: number): Promise<Forward> {
  const forward = new PortForward(kube.config);
  const sockets = new Set<Socket>();
  const websockets = new Set<{ close(): void }>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    // The API server reports a tunnel it cannot make (nothing listens on the port, the container
    // is gone) on the error stream: end the local connection with its words.
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // Each stream opens with the port number, which the client strips: an empty chunk is no error.
        const message = chunk.toString().trim();
        if (message) socket.destroy(new Error(`port-forward to ${namespace}/${pod}:${port}: ${message}`));
        done();
      },
    });
    forward
      .portForward(namespace, pod, [port], socket, errors, socket)
      .then((ws) => {
        const websocket = typeof ws === "function" ? ws() : ws;
        if (!websocket) return void socket.destroy();
        websockets.add(websocket);
        socket.on("close", () => {
          websocket.close();
          websockets.delete(websocket);
        });
        // The tunnel dies with the pod's container (a liveness kill, a crash): end the local
        // connection too, or a client in the middle of a query waits on it forever.
        websocket.addEventListener("close", () => socket.destroy());
      })
      .catch((error: Error) => socket.destroy(error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    localPort: (server.address() as AddressInfo).port,
    // server.close() waits for open connections, which the tunnels keep open: end them first.
    close: () =>
      new Promise<void>((resolve) => {
        for (const websocket of websockets) websocket.close();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
