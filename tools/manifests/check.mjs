// Offline checks of weft's Kubernetes manifests (README, "Kubernetes"). Run by
// tools/manifests/check.sh, which meson registers in the `manifests` suite.
//
//   node check.mjs validate   every object of `kubectl kustomize manifests/` and
//                             `manifests/monitoring/`, and every object of manifests/examples/ and
//                             manifests/demo/, against its schema (kubernetes-models,
//                             @kubernetes-models/gateway-api, @kubernetes-models/prometheus-operator;
//                             MeshPolicy against the CRD's own schema, with ajv); bad MeshPolicies
//                             must be refused; the policy check on every pod template
//   node check.mjs agent      the ClusterRole against `weft-agent --print-rbac`, and the
//                             ConfigMap's agent.yaml against `weft-agent --check-config`
//                             ($WEFT_BUILD_DIR/agent/weft-agent, default <repo>/build)
//
// Exit status 0 when everything holds, 1 with every failure listed.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import Ajv from "ajv";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const policy = JSON.parse(readFileSync(join(here, "policy.json"), "utf8"));
const failures = [];
const notes = [];
const fail = (what) => failures.push(what);

function projectVersion() {
  const meson = readFileSync(join(repo, "meson.build"), "utf8");
  const m = meson.match(/project\([^)]*?version:\s*'([^']+)'/s);
  if (!m) throw new Error("meson.build: no project(... version: '...')");
  return m[1];
}

function kustomize(dir) {
  try {
    return execFileSync("kubectl", ["kustomize", join(repo, dir)], { encoding: "utf8" });
  } catch (e) {
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr || e.message}`);
  }
}

function parseDocs(text, origin) {
  return YAML.parseAllDocuments(text).flatMap((doc, i) => {
    if (doc.errors.length) {
      fail(`${origin} document ${i}: ${doc.errors[0].message}`);
      return [];
    }
    const obj = doc.toJS();
    if (obj === null) return [];
    if (obj.kind === "List") return obj.items.map((item) => ({ obj: item, origin }));
    return [{ obj, origin }];
  });
}

const name = ({ obj }) => `${obj.kind} ${obj.metadata?.namespace ? obj.metadata.namespace + "/" : ""}${obj.metadata?.name}`;

// apiVersion -> the module that holds its models, in the order tried.
function modulesFor(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "gateway.networking.k8s.io") return [`@kubernetes-models/gateway-api/${apiVersion}`];
  if (group === "monitoring.coreos.com") return [`@kubernetes-models/prometheus-operator/${apiVersion}`];
  return [`kubernetes-models/${group ? apiVersion : version}`];
}

async function modelFor(apiVersion, kind) {
  for (const spec of modulesFor(apiVersion)) {
    try {
      const mod = await import(spec);
      if (typeof mod[kind] === "function") return mod[kind];
    } catch {
      // no such module: no model
    }
  }
  return null;
}

// MeshPolicy: the CRD's openAPIV3Schema as the API server applies it with kubectl's default
// field validation (strict): a field the schema does not name is an error. Structural schemas
// may not say additionalProperties: false, so it is added here to every object with properties.
function strictSchema(schema) {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith("x-kubernetes-")) {
      if (k === "x-kubernetes-preserve-unknown-fields") fail("MeshPolicy CRD: x-kubernetes-preserve-unknown-fields is not allowed");
      continue;
    }
    if (k === "description") continue;
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strictSchema(s)])) : strictSchema(v);
  }
  if (out.type === "object" && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function meshPolicyValidator(crd) {
  const version = crd.spec.versions.find((v) => v.name === "v1alpha1");
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(strictSchema(version.schema.openAPIV3Schema));
}

// Known weft extensions: a copy without the listed fields is validated, so the rest of the
// object is still checked.
function withoutExtensions(entry) {
  const ext = policy.knownExtensions.find((x) => entry.origin === x.file && entry.obj.kind === x.kind && entry.obj.metadata?.name === x.name);
  if (!ext) return { obj: entry.obj, ext: null };
  const copy = structuredClone(entry.obj);
  for (const field of ext.fields) {
    const m = field.match(/^spec\.rules\[\]\.(\w+)$/);
    if (!m) throw new Error(`policy.json: unsupported extension path ${field}`);
    for (const rule of copy.spec?.rules ?? []) delete rule[m[1]];
  }
  return { obj: copy, ext };
}

async function validateAll(entries, validateMeshPolicy) {
  for (const entry of entries) {
    const { obj } = entry;
    if (!obj.apiVersion || !obj.kind) {
      fail(`${entry.origin}: an object without apiVersion/kind`);
      continue;
    }
    if (obj.apiVersion === "security.weft.io/v1alpha1" && obj.kind === "MeshPolicy") {
      if (!validateMeshPolicy(obj)) fail(`${entry.origin}: ${name(entry)}: ${JSON.stringify(validateMeshPolicy.errors)}`);
      continue;
    }
    const Model = await modelFor(obj.apiVersion, obj.kind);
    if (!Model) {
      fail(`${entry.origin}: ${name(entry)}: no model for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    const { obj: checked, ext } = withoutExtensions(entry);
    try {
      new Model(checked).validate();
      if (ext) notes.push(`${entry.origin}: ${name(entry)}: weft extension ${ext.fields.join(", ")} (${ext.why})`);
    } catch (e) {
      fail(`${entry.origin}: ${name(entry)}: ${e.message}`);
    }
  }
}

// The MeshPolicy schema must refuse what the decoder refuses.
function checkBadPolicies(validateMeshPolicy) {
  const base = () => ({
    apiVersion: "security.weft.io/v1alpha1",
    kind: "MeshPolicy",
    metadata: { name: "p", namespace: "demo" },
    spec: { selector: { matchLabels: { app: "echo" } }, mode: "STRICT", allow: { principals: ["spiffe://cluster.local/ns/demo/sa/client"] } },
  });
  if (!validateMeshPolicy(base())) fail(`MeshPolicy schema refuses a good policy: ${JSON.stringify(validateMeshPolicy.errors)}`);
  const bad = {
    "mode: strict (lower case)": (p) => { p.spec.mode = "strict"; },
    "unknown field alow": (p) => { p.spec.alow = p.spec.allow; delete p.spec.allow; },
    "selector.matchExpressions": (p) => { p.spec.selector.matchExpressions = [{ key: "app", operator: "In", values: ["echo"] }]; },
    "principal that is not a SPIFFE ID": (p) => { p.spec.allow.principals = ["cluster.local/ns/demo/sa/client"]; },
    "namespace that is not a DNS-1123 label": (p) => { p.spec.allow.namespaces = ["Demo"]; },
    "unknown field under allow": (p) => { p.spec.allow.ports = [80]; },
  };
  for (const [what, mutate] of Object.entries(bad)) {
    const p = base();
    mutate(p);
    if (validateMeshPolicy(p)) fail(`MeshPolicy schema accepts a bad policy: ${what}`);
  }
}

function podSpecs(obj) {
  const kinds = ["DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"];
  if (kinds.includes(obj.kind)) return [obj.spec.template.spec];
  if (obj.kind === "Pod") return [obj.spec];
  return [];
}

function checkPodPolicy(entries, version) {
  for (const entry of entries) {
    for (const spec of podSpecs(entry.obj)) {
      const where = name(entry);
      if (spec.hostNetwork === true) fail(`${where}: hostNetwork: true`);
      const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
      const all = [...(spec.initContainers ?? []), ...spec.containers];
      for (const c of all) {
        const at = `${where} container ${c.name}`;
        const sc = c.securityContext ?? {};
        if (sc.privileged === true) fail(`${at}: privileged: true`);
        if (sc.allowPrivilegeEscalation !== false) fail(`${at}: allowPrivilegeEscalation is not false`);
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(`${at}: capabilities.drop does not include ALL`);
        for (const cap of sc.capabilities?.add ?? []) {
          if (!(cap in policy.capabilities)) fail(`${at}: capability ${cap} is not in tools/manifests/policy.json`);
        }
        if (c.resources?.limits?.cpu !== undefined) fail(`${at}: a CPU limit (${c.resources.limits.cpu})`);
        const image = c.image ?? "";
        const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : "";
        if (tag !== version) fail(`${at}: image ${image}: the tag must be the project's version ${version} (meson.build)`);
        const longRunning = spec.containers.includes(c) || sidecars.includes(c);
        if (longRunning && !(c.name in policy.probeExemptions)) {
          for (const probe of ["readinessProbe", "livenessProbe"]) {
            if (!c[probe]) fail(`${at}: no ${probe} (and no exemption in tools/manifests/policy.json)`);
          }
        }
      }
    }
  }
}

// The README's capability table lists exactly policy.json's capabilities.
function checkReadmeTable() {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  const rows = [...readme.matchAll(/^\| `CAP_([A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  const listed = Object.keys(policy.capabilities).sort();
  if (JSON.stringify(rows) !== JSON.stringify(listed)) {
    fail(`README capability table lists [${rows}] but tools/manifests/policy.json allows [${listed}]`);
  }
}

function filesUnder(dir) {
  const abs = join(repo, dir);
  return existsSync(abs) ? readdirSync(abs).filter((f) => /\.ya?ml$|\.json$/.test(f)).sort().map((f) => join(dir, f)) : [];
}

async function validate() {
  const version = projectVersion();
  const base = parseDocs(kustomize("manifests"), "kubectl kustomize manifests");
  const monitoring = parseDocs(kustomize("manifests/monitoring"), "kubectl kustomize manifests/monitoring");
  const examples = ["manifests/examples", "manifests/demo"].flatMap(filesUnder)
    .flatMap((f) => parseDocs(readFileSync(join(repo, f), "utf8"), f));
  const crd = base.find(({ obj }) => obj.kind === "CustomResourceDefinition" && obj.metadata.name === "meshpolicies.security.weft.io");
  if (!crd) {
    fail("kubectl kustomize manifests: no CustomResourceDefinition meshpolicies.security.weft.io");
    return;
  }
  const validateMeshPolicy = meshPolicyValidator(crd.obj);
  await validateAll([...base, ...monitoring, ...examples], validateMeshPolicy);
  checkBadPolicies(validateMeshPolicy);
  checkPodPolicy([...base, ...monitoring], version);
  checkReadmeTable();
  const policies = examples.filter(({ obj }) => obj.kind === "MeshPolicy").length;
  notes.push(`${base.length} objects from manifests/, ${monitoring.length} from manifests/monitoring/, ${examples.length} from manifests/examples/ and manifests/demo/ (${policies} MeshPolicies against the CRD schema)`);
}

const triples = (rules) => new Set(rules.flatMap((r) =>
  r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g === "" ? "core" : g} ${res} ${v}`)))));

function agentBinary() {
  const buildDir = process.env.WEFT_BUILD_DIR || join(repo, "build");
  const agent = join(buildDir, "agent", "weft-agent");
  if (!existsSync(agent)) {
    fail(`${agent} is missing: build the agent first (tools/setup.sh), or set WEFT_BUILD_DIR`);
    return null;
  }
  return agent;
}

// The ConfigMap's agent.yaml must be settings the agent accepts: a typo there would otherwise
// show only as a crash-looping DaemonSet.
function agentConfig(agent, rendered) {
  const map = rendered.find(({ obj }) => obj.kind === "ConfigMap" && obj.metadata.name === "weft-agent-config");
  if (!map || !map.obj.data?.["agent.yaml"]) {
    fail("kubectl kustomize manifests: no ConfigMap weft-agent-config with agent.yaml");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "weft-agent-config-"));
  try {
    const file = join(dir, "agent.yaml");
    writeFileSync(file, map.obj.data["agent.yaml"]);
    const settings = execFileSync(agent, ["--config", file, "--node-name", "node-1", "--check-config"],
                                  { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    notes.push("ConfigMap weft-agent-config: agent.yaml accepted by weft-agent --check-config");
    drainFitsGrace(settings, rendered);
  } catch (e) {
    fail(`ConfigMap weft-agent-config: weft-agent refuses agent.yaml: ${(e.stderr || e.message).trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The kubelet SIGKILLs the old agent terminationGracePeriodSeconds after SIGTERM: its drain, the
// 2 s the agent then gives its workers to end what is left (agent/AgentHandOver.cpp, kEndGrace)
// and the up to 2 s its admin endpoint takes to stop must fit in it, or a rollout cuts
// connections with RST instead of FIN (ARCHITECTURE.md, "Hand-over").
function drainFitsGrace(settings, rendered) {
  const m = /drain_seconds="(\d+)"/.exec(settings);
  const ds = rendered.find(({ obj }) => obj.kind === "DaemonSet" && obj.metadata.name === "weft-agent");
  const grace = ds?.obj.spec.template.spec.terminationGracePeriodSeconds ?? 30;
  if (!m) {
    fail("weft-agent --check-config did not print drain_seconds");
  } else if (Number(m[1]) + 4 >= grace) {
    fail(`agent.yaml drain_seconds ${m[1]} + 4 s to end what is left and stop does not fit in the DaemonSet's terminationGracePeriodSeconds ${grace}`);
  } else {
    notes.push(`drain_seconds ${m[1]} (+4 s) fits in terminationGracePeriodSeconds ${grace}`);
  }
}

function agentChecks() {
  const agent = agentBinary();
  if (!agent) return;
  const rendered = parseDocs(kustomize("manifests"), "kubectl kustomize manifests");
  rbac(agent, rendered);
  agentConfig(agent, rendered);
}

function rbac(agent, rendered) {
  let printed;
  try {
    printed = execFileSync(agent, ["--print-rbac"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    fail(`${agent} --print-rbac failed (exit ${e.status}): ${(e.stderr || e.message).trim()} -- the agent must print its RBAC rules as a JSON array (issue 21)`);
    return;
  }
  let wanted;
  try {
    wanted = triples(JSON.parse(printed));
  } catch (e) {
    fail(`${agent} --print-rbac did not print a JSON array of rules: ${e.message}`);
    return;
  }
  const role = rendered.find(({ obj }) => obj.kind === "ClusterRole" && obj.metadata.name === "weft-agent");
  if (!role) {
    fail("kubectl kustomize manifests: no ClusterRole weft-agent");
    return;
  }
  const granted = triples(role.obj.rules);
  for (const t of wanted) if (!granted.has(t)) fail(`ClusterRole weft-agent lacks what the agent uses: ${t}`);
  for (const t of granted) if (!wanted.has(t)) fail(`ClusterRole weft-agent grants what the agent does not use: ${t}`);
  notes.push(`ClusterRole weft-agent: ${granted.size} (group, resource, verb) triples, as --print-rbac says`);
}

const mode = process.argv[2];
try {
  if (mode === "validate") await validate();
  else if (mode === "agent") agentChecks();
  else {
    console.error("usage: node check.mjs validate|agent");
    process.exit(2);
  }
} catch (e) {
  fail(e.message);
}
for (const n of notes) console.log(`ok: ${n}`);
for (const f of failures) console.log(`FAIL: ${f}`);
console.log(failures.length ? `${failures.length} failure(s)` : "all checks passed");
process.exit(failures.length ? 1 : 0);
