import type { Command } from "./command";
import { VERSION } from "../version";

export const versionCommand: Command = {
  name: "version",
  summary: "Print the BrowserGrid version",
  usage: "browsergrid version\n\nPrints the version of this executable, its Bun runtime and platform.",
  async run(args) {
    console.log(`browsergrid ${VERSION} (bun ${Bun.version}, ${process.platform}-${process.arch})`);
    return 0;
  },
};
