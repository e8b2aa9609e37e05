// Runs one execution of a state machine definition, as synthesized, with
// aws-local-stepfunctions, an Amazon States Language interpreter written
// independently of Highway. Its Task states that invoke a Lambda function
// through the optimized integration (arn:aws:states:::lambda:invoke, and its
// .waitForTaskToken form) invoke the function's binary under the Lambda
// Runtime Interface Emulator instead, at the URL the spec maps its ARN to.
//
// Usage: node sfn-run.mjs SPEC.json, where SPEC is
//   {"definition": {...}, "input": {...}, "context": {...Context Object...},
//    "functions": {"<function ARN>": "<RIE invocation URL>"},
//    "waitTimeOverrides": {"<Wait state>": ms},
//    "retryIntervalOverrides": {"<state>": ms}}
//
// It writes one JSON object a line on stdout: each event of the execution's
// log ({"type": "StateEntered", "state": "Deploy"}, StateRetried, StateCaught,
// StateFailed with Error and Cause, ExecutionSucceeded with output,
// ExecutionFailed with Error and Cause), and, before each Lambda invocation,
// {"type": "TaskScheduled", "state", "seq"}; it invokes once the caller
// writes {"go": seq} on stdin, so the caller may act between two steps, or
// fails the task as the Lambda service would, without invoking, when the
// caller writes {"go": seq, "lambdaError": "Lambda.TooManyRequestsException"}. A
// .waitForTaskToken task, once its invocation has returned, writes
// {"type": "TaskWaiting", "state", "token"} and waits for the caller to write
// what Step Functions' SendTaskSuccess or SendTaskFailure brought:
// {"token", "output": "<JSON>"} or {"token", "error", "cause"}.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StateMachine } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3 asks for Node 22 for Promise.withResolvers
// alone (one call, in its Task state); on Node 20 it is defined here as the
// standard does.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// What the caller writes on stdin, by key: a step's go-ahead ("go:<seq>") or
// a task token's answer ("token:<token>").
const answers = new Map();
const waiting = new Map();
function answer(key, value) {
  const w = waiting.get(key);
  if (w) {
    waiting.delete(key);
    w(value);
  } else {
    answers.set(key, value);
  }
}
function awaitAnswer(key) {
  if (answers.has(key)) {
    const v = answers.get(key);
    answers.delete(key);
    return Promise.resolve(v);
  }
  return new Promise((resolve) => waiting.set(key, resolve));
}
createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const m = JSON.parse(line);
  if (m.go !== undefined) answer('go:' + m.go, m);
  else if (m.token !== undefined) answer('token:' + m.token, m);
});

// namedError is an error Retry and Catch match by name, as Step Functions
// matches the error of a failed task.
function namedError(name, cause) {
  const e = new Error(cause);
  e.name = name;
  return e;
}

let seq = 0;

// The emulator runs one invocation at a time, where Lambda would start
// another instance: a task that timed out while its invocation still runs
// (the approval request past a short timeout) must not make the next task's
// invocation of the same function fail. Invocations of one function wait
// their turn.
const lanes = new Map();
function oneAtATime(url, work) {
  const turn = (lanes.get(url) ?? Promise.resolve()).then(work, work);
  lanes.set(url, turn.catch(() => {}));
  return turn;
}

// invoke runs one Lambda task as the optimized integration does: it invokes
// the function with the Payload, answers {ExecutedVersion, Payload,
// StatusCode}, and fails with the function's error type when the function
// returned an error (the Cause is the error's JSON, as in Step Functions).
async function invoke(state, params, waitForToken) {
  const url = spec.functions[params.FunctionName];
  if (!url) throw namedError('Lambda.ResourceNotFoundException', `no function ${params.FunctionName}`);
  const n = ++seq;
  say({ type: 'TaskScheduled', state, seq: n });
  const go = await awaitAnswer('go:' + n);
  if (go.lambdaError) throw namedError(go.lambdaError, 'the Lambda service refused the invocation');
  const { status, text } = await oneAtATime(url, async () => {
    let res;
    try {
      res = await fetch(url, { method: 'POST', body: JSON.stringify(params.Payload ?? {}) });
    } catch (e) {
      throw namedError('Lambda.ServiceException', String(e));
    }
    return { status: res.status, text: await res.text() };
  });
  if (status !== 200) throw namedError('Lambda.ServiceException', `HTTP ${status}: ${text}`);
  const payload = text === '' ? null : JSON.parse(text);
  if (payload && typeof payload === 'object' && typeof payload.errorType === 'string' && 'errorMessage' in payload) {
    throw namedError(payload.errorType, text);
  }
  if (!waitForToken) return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
  const token = params.Payload?.taskToken ?? spec.context?.Task?.Token;
  say({ type: 'TaskWaiting', state, token });
  const a = await awaitAnswer('token:' + token);
  if (a.error !== undefined) throw namedError(a.error, a.cause ?? '');
  return JSON.parse(a.output);
}

// Step Functions resolves a Task's TimeoutSecondsPath and HeartbeatSecondsPath
// against the state's input; aws-local-stepfunctions 3.0.0 resolves them
// against the effective input, after Parameters, where they are not (for a
// Lambda task, Parameters is {FunctionName, Payload}). So the runner keeps
// those two fields from the interpreter and enforces them itself, as Step
// Functions does: against the input the state entered with, failing the task
// with States.Timeout, or States.HeartbeatTimeout when the heartbeat is
// shorter (no task of Highway's sends heartbeats). Every other field goes to
// the interpreter as synthesized.
const definition = structuredClone(spec.definition);
const timeouts = {};
const entered = {}; // the input each state entered with, from the event log

// at resolves a reference path ($, $.a.b) in value.
function at(path, value) {
  if (path === '$') return value;
  if (!path.startsWith('$.')) throw namedError('States.Runtime', `unsupported reference path ${path}`);
  return path.slice(2).split('.').reduce((v, k) => (v == null ? undefined : v[k]), value);
}

// seconds resolves a timeout path against the state's input.
function seconds(state, path) {
  const v = at(path, entered[state]);
  if (!Number.isInteger(v) || v < 1) {
    throw namedError('States.Runtime', `${path} of ${state}'s input is ${JSON.stringify(v)}, not a positive integer`);
  }
  return v;
}

// bounded runs work with the state's timeouts, as Step Functions would.
async function bounded(state, work) {
  const t = timeouts[state];
  if (!t) return work();
  // The state's StateEntered event reaches the log once the interpreter
  // yields: let it.
  await new Promise((resolve) => setImmediate(resolve));
  let limit = t.timeout ? seconds(state, t.timeout) : undefined;
  let error = 'States.Timeout';
  if (t.heartbeat) {
    const h = seconds(state, t.heartbeat);
    if (limit === undefined || h < limit) {
      limit = h;
      error = 'States.HeartbeatTimeout';
    }
  }
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(namedError(error, `${state} ran past ${limit}s`)), limit * 1000);
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

const handlers = {};
for (const [name, state] of Object.entries(definition.States)) {
  if (state.Type !== 'Task') continue;
  if (state.TimeoutSecondsPath || state.HeartbeatSecondsPath) {
    timeouts[name] = { timeout: state.TimeoutSecondsPath, heartbeat: state.HeartbeatSecondsPath };
    delete state.TimeoutSecondsPath;
    delete state.HeartbeatSecondsPath;
  }
  if (state.Resource === 'arn:aws:states:::lambda:invoke') {
    handlers[name] = (params) => bounded(name, () => invoke(name, params, false));
  } else if (state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
    handlers[name] = (params) => bounded(name, () => invoke(name, params, true));
  } else {
    throw new Error(`state ${name}: resource ${state.Resource} is not a Lambda invocation this runner knows`);
  }
}

const machine = new StateMachine(definition);
const execution = machine.run(spec.input, {
  context: spec.context,
  overrides: {
    taskResourceLocalHandlers: handlers,
    waitTimeOverrides: spec.waitTimeOverrides ?? {},
    retryIntervalOverrides: spec.retryIntervalOverrides ?? {},
  },
});
const result = execution.result.then(() => {}, () => {});
for await (const ev of execution.eventLogs) {
  const out = { type: ev.type };
  if (ev.state) out.state = ev.state.name;
  if (ev.type === 'StateEntered') entered[ev.state.name] = ev.state.input;
  if (ev.Error !== undefined) {
    out.Error = ev.Error;
    out.Cause = ev.Cause;
  }
  if (ev.type === 'ExecutionSucceeded') out.output = ev.output;
  say(out);
}
await result;
process.exit(0);
