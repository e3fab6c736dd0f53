// The schema step of the official `mcpb validate`, for many manifests in one node start:
// argv[2] is the mcpb package's dist folder; stdin a JSON list of manifests; stdout a list
// of booleans (true = the official schema accepts it).
import { pathToFileURL } from "node:url";

const dist = process.argv[2];
const { MANIFEST_SCHEMAS } = await import(pathToFileURL(`${dist}/shared/constants.js`).href);
const { getManifestVersionFromRawData } = await import(
  pathToFileURL(`${dist}/shared/manifestVersionResolve.js`).href
);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const verdicts = JSON.parse(input).map((data) => {
    const version = getManifestVersionFromRawData(data);
    return Boolean(version) && MANIFEST_SCHEMAS[version].safeParse(data).success;
  });
  process.stdout.write(JSON.stringify(verdicts));
});
