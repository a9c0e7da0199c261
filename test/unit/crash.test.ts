import { describe, expect, it } from "vitest";
import { mainMysqld } from "../../src/conformance/crash.ts";

describe("the mysqld a crash kills", () => {
  it("is the container's main process when another mysqld runs beside it", () => {
    // Seen once: the node listed two mysqld in the pod's cgroup at crash time.
    expect(mainMysqld(["1009 mysqld 57", "780 mysqld 1"])).toEqual({ pid: "780", command: "mysqld" });
  });
  it("is the only one there is, whatever its pid inside the container", () => {
    expect(mainMysqld(["4242 mariadbd 7"])).toEqual({ pid: "4242", command: "mariadbd" });
  });
  it("is none when several run and none is the main process, or none runs", () => {
    expect(mainMysqld(["10 mysqld 5", "11 mysqld 6"])).toBeUndefined();
    expect(mainMysqld([])).toBeUndefined();
  });
});
