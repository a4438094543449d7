// The engine reads made at start through Bun's fetch (socketReads) against the same reads through
// dockerode (dockerodeReads, the SSH workers' way), on the real engine: both must say the same.
// And dockerClient: dockerode loaded on first use, standing for the client itself.
import { afterAll, expect, test } from "bun:test";
import Docker from "dockerode";
import { randomId } from "../lib/ids";
import { statusOf } from "./docker-status";
import { dockerClient, dockerodeReads, socketReads, type EngineReads, type EventStream } from "./engine";
import { EngineDeadlines, withDeadlines } from "./engine-deadlines";

const SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
const docker = new Docker({ socketPath: SOCKET });
const label = `browsergrid.engine-test=${randomId(8)}`;
const deadlines = new EngineDeadlines("test");
const both: [string, EngineReads][] = [
  ["fetch", socketReads(SOCKET, deadlines)],
  ["dockerode", dockerodeReads(withDeadlines(docker, deadlines))],
];

afterAll(async () => {
  const left = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
});

async function lineWith(stream: EventStream, needle: string, timeoutMs: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => stream.close(), timeoutMs);
  try {
    for await (const chunk of stream.chunks) {
      text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      const line = text.split("\n").find((l) => l.includes(needle));
      if (line) return line;
    }
  } catch {}
  finally {
    clearTimeout(timer);
    stream.close();
  }
  throw new Error(`no event with ${needle} within ${timeoutMs} ms: ${text.slice(0, 300)}`);
}

test("fetch and dockerode read the engine alike: ping, info, networks (404 included), labelled containers, events", async () => {
  const [key, value] = label.split("=") as [string, string];
  const c = await docker.createContainer({ Image: "browsergrid/debian-base:bookworm", Entrypoint: ["sleep", "300"], Labels: { [key]: value }, HostConfig: { NetworkMode: "none" } });
  const since = `${Math.floor(Date.now() / 1000) - 1}.000000000`;
  const filters = { type: ["container"], event: ["die"], label: [label] };
  await c.start();
  const streams = await Promise.all(both.map(([, r]) => r.events({ since, filters })));
  const answers = await Promise.all(
    both.map(async ([how, r]) => {
      await r.ping();
      const info = await r.info();
      const bridge = await r.inspectNetwork("bridge");
      const missing = await r.inspectNetwork(`no-such-network-${randomId(6)}`).then(
        () => "found",
        (err) => statusOf(err),
      );
      const listed = await r.listContainers({ label: [label] });
      return { how, os: info.OperatingSystem, security: info.SecurityOptions, bridge: bridge.Id, missing, listed: listed.map((x) => [x.Id, x.State, x.Labels[key]]) };
    }),
  );
  expect(answers[0]).toEqual({ ...answers[1]!, how: "fetch" });
  expect(answers[0]!.missing).toBe(404);
  expect(answers[0]!.listed).toEqual([[c.id, "running", value]]);
  expect(Object.values(deadlines.timeoutCounts()).every((n) => n === 0)).toBe(true); // answered in time: nothing counted
  expect(typeof answers[0]!.os).toBe("string");

  await c.kill();
  const lines = await Promise.all(streams.map((s) => lineWith(s, c.id, 5_000)));
  for (const line of lines) expect(JSON.parse(line)).toMatchObject({ Type: "container", Action: "die", Actor: { ID: c.id } });
}, 30_000);

test("an engine that is not there: the error says which socket and why", async () => {
  const missing = `/tmp/no-engine-${randomId(6)}.sock`;
  await expect(socketReads(missing, deadlines).ping()).rejects.toThrow(`cannot connect to ${missing}: no such socket`);
  await expect(socketReads("/etc/hostname", deadlines).listContainers({})).rejects.toThrow("cannot connect to /etc/hostname: nothing listens there");
});

test("dockerClient is the dockerode client itself, made on first use", async () => {
  const client = dockerClient({ socketPath: SOCKET });
  expect(await client.ping()).toBeDefined();
  expect((client.modem as { socketPath?: string }).socketPath).toBe(SOCKET);
  const version = await client.version();
  expect(version.ApiVersion).toBe((await docker.version()).ApiVersion);
  expect(client.getContainer("abc").id).toBe("abc");
});
