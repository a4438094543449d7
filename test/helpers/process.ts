// Starts a process whose stdout and stderr are collected for the test to read on failure.
export function spawnCollecting(cmd: string[], opts: { env: Record<string, string>; cwd?: string }) {
  let out = "";
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env, stdout: "pipe", stderr: "pipe" });
  const collect = async (s: ReadableStream<Uint8Array>) => {
    const reader = s.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      out += new TextDecoder().decode(value);
    }
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  return { proc, output: () => out };
}
