// Runs the official library's getMcpConfigForManifest (path to its dist/shared/config.js in
// argv[2]) on {manifest, userConfig, systemDirs, extensionPath} read as JSON from stdin.
import { pathToFileURL } from "node:url";

const { getMcpConfigForManifest } = await import(pathToFileURL(process.argv[2]).href);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const opts = JSON.parse(input);
  const result = await getMcpConfigForManifest({ ...opts, pathSeparator: "/" });
  process.stdout.write(JSON.stringify(result ?? null));
});
