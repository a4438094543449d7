// What the gateway does with each client→browser message: forward it, answer it, or refuse it.
//
// Contract (default deny): a message reaches Chromium only when the strict scanner (json-scan.ts)
// proved it RFC 8259 JSON without duplicate keys, its envelope is an object with an integer
// `id`, a string `method` and optionally an object `params` and a string `sessionId`, and the
// policy table (policy.ts) allows its method. A checked method is forwarded re-serialised from
// the params its check returned, so Chromium executes exactly what was checked. Everything else
// gets a CDP error reply with the message's id and sessionId and never reaches Chromium.
// Threat: Chromium's parser accepts more than JSON (a literal vertical tab, comments) and reads
// duplicate keys its own way; forwarding what the gateway could not read would let a
// `file://` navigation or a `direct://` context proxy through under another reading.
import { ScanError, scanMessage, type ScannedMessage } from "./json-scan";
import { CHECKS, type DownloadsAllowed, type Params } from "./policy-checks";
import { DOMAIN_PREFIX, ruleFor } from "./policy";

export type Interception =
  | { kind: "domain"; id: unknown; sessionId?: string; method: string; params: unknown }
  | { kind: "refuse"; id: unknown; sessionId?: string; code: number; message: string }
  | { kind: "forward"; text: string; downloads?: DownloadsAllowed };

/** JSON-RPC codes of the gateway's own refusals. */
export const REFUSAL = { parse: -32700, invalidRequest: -32600, unclassified: -32601, policy: -32000 } as const;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** null: forward the message text unchanged (an allowed method, the hot path). */
export function interceptClientMessage(text: string): Interception | null {
  let m: ScannedMessage;
  try {
    m = scanMessage(text);
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    const p = err.partial;
    return refuse(p?.id, p?.sessionId, REFUSAL.parse, `message is not strict JSON (${err.message}); send RFC 8259 JSON without duplicate keys or deeper nesting`);
  }
  const { id, sessionId, method } = m;
  const envelope = envelopeProblem(m);
  if (envelope !== null) return refuse(id, sessionId, REFUSAL.invalidRequest, envelope);
  if (method!.startsWith(DOMAIN_PREFIX)) {
    const msg = JSON.parse(text) as { params?: unknown };
    return { kind: "domain", id, sessionId, method: method!, params: msg.params ?? {} };
  }
  const rule = ruleFor(method!);
  if (rule === undefined) return refuse(id, sessionId, REFUSAL.unclassified, `${method} is not in the gateway's CDP policy, so it is refused`);
  if (rule.kind === "allow") return null;
  if (rule.kind === "refuse") return refuse(id, sessionId, REFUSAL.policy, `${method} is refused: ${rule.why}`);
  const msg = JSON.parse(text) as { params?: Params };
  const result = CHECKS[rule.check](msg.params ?? {}, method!);
  if ("refuse" in result) return refuse(id, sessionId, REFUSAL.policy, `${method}: ${result.refuse}`);
  msg.params = result.params;
  const forwarded = JSON.stringify(msg);
  return result.downloads ? { kind: "forward", text: forwarded, downloads: result.downloads } : { kind: "forward", text: forwarded };
}

function envelopeProblem(m: ScannedMessage): string | null {
  if (m.notObject) return "a CDP message must be a JSON object";
  if (m.id === undefined || m.id < INT32_MIN || m.id > INT32_MAX) return "id must be an integer (32-bit)";
  if (m.method === undefined) return "method must be a string";
  if (m.paramsNotObject) return "params must be an object";
  if (m.sessionIdNotString) return "sessionId must be a string";
  if (m.extraKeys) return "a CDP message has only id, method, params and sessionId";
  return null;
}

function refuse(id: number | undefined, sessionId: string | undefined, code: number, message: string): Interception {
  return { kind: "refuse", id, sessionId, code, message: `BrowserGrid: ${message}` };
}

/** The reply frame text for a locally answered command. */
export function cdpResult(id: unknown, sessionId: string | undefined, result: unknown): string {
  return JSON.stringify(sessionId === undefined ? { id, result: result ?? {} } : { id, result: result ?? {}, sessionId });
}

export function cdpError(id: unknown, sessionId: string | undefined, code: number, message: string): string {
  const error = { code, message };
  return JSON.stringify(sessionId === undefined ? { id, error } : { id, error, sessionId });
}
