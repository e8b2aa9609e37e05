// Evaluates IAM requests against policies with @cloud-copilot/iam-simulate, an
// IAM policy simulator written independently of Highway. Reads a JSON array
// of simulations on stdin:
//   [{"name": "...", "principal": "arn...", "action": "svc:Op",
//     "resource": "arn... or *", "account": "123456789012",
//     "context": {"aws:PrincipalTag/k": "v", ...},
//     "identityPolicies": [{"name": "...", "policy": {...}}],
//     "sessionPolicy": {...} (optional),
//     "resourcePolicy": {...} (optional)}]
// and writes a JSON array of results in the same order:
//   [{"name": "...", "result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error",
//     "ignoredContextKeys": [...], "errors": "..."}]
import { runSimulation } from '@cloud-copilot/iam-simulate';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const sims = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const out = [];
for (const s of sims) {
  const r = await runSimulation({
    request: {
      principal: s.principal,
      action: s.action,
      resource: { resource: s.resource, accountId: s.account },
      contextVariables: s.context ?? {},
    },
    identityPolicies: s.identityPolicies ?? [],
    sessionPolicy: s.sessionPolicy,
    resourcePolicy: s.resourcePolicy,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (r.resultType === 'error') {
    out.push({ name: s.name, result: 'Error', errors: JSON.stringify(r.errors) });
  } else if (r.resultType === 'single') {
    out.push({ name: s.name, result: r.overallResult, ignoredContextKeys: r.result.ignoredContextKeys ?? [] });
  } else {
    out.push({ name: s.name, result: r.overallResult, ignoredContextKeys: [] });
  }
}
process.stdout.write(JSON.stringify(out));
