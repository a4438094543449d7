// A session's network, put together from parts that each own one concern: the egress guard
// (fail closed when it is missing), the proxy (through BrowserGrid's proxy relay) and rule sets
// (through BrowserGrid's own CDP connection). The session service sees one SessionNetwork.
import type { BrowserProvider, BrowserSpec } from "../../providers/provider";
import type { Pool } from "../pools/pools.service";
import type { CreateSessionInput, Owner, PreparedNetwork, SessionNetwork } from "../sessions/sessions.service";
import type { SessionRow } from "../sessions/sessions.store";

export interface NetworkPartPrepared {
  config?: Record<string, unknown>;
  spec?: Partial<BrowserSpec>;
  /** The browser needs start flags, so no warm browser fits. */
  cold?: boolean;
  /** After the browser answers CDP, before the client gets the URL; throw to fail the session. */
  started?(row: SessionRow, provider: BrowserProvider): Promise<void>;
}

export interface NetworkPart {
  readonly name: string;
  /** Validates the request's part (4xx on bad input); null when the part has nothing to do. Creates nothing. */
  prepare(owner: Owner, sessionId: string, pool: Pool, input: CreateSessionInput): Promise<NetworkPartPrepared | null> | NetworkPartPrepared | null;
  resume?(row: SessionRow, provider: BrowserProvider | undefined): Promise<void>;
  ended?(sessionId: string): void;
}

export function sessionNetwork(parts: NetworkPart[], log: { warn(msg: string, ctx?: Record<string, unknown>): void }): SessionNetwork {
  return {
    async prepare(owner, sessionId, pool, input): Promise<PreparedNetwork> {
      const prepared: NetworkPartPrepared[] = [];
      for (const part of parts) {
        const p = await part.prepare(owner, sessionId, pool, input);
        if (p) prepared.push(p);
      }
      return {
        config: Object.assign({}, ...prepared.map((p) => p.config ?? {})),
        spec: Object.assign({}, ...prepared.map((p) => p.spec ?? {})),
        cold: prepared.some((p) => p.cold),
        async started(row, provider) {
          for (const p of prepared) await p.started?.(row, provider);
        },
      };
    },
    async resume(row, provider) {
      for (const part of parts) {
        try {
          await part.resume?.(row, provider);
        } catch (err) {
          log.warn("session network resume failed", { sessionId: row.id, part: part.name, err });
        }
      }
    },
    ended(sessionId) {
      for (const part of parts) {
        try {
          part.ended?.(sessionId);
        } catch (err) {
          log.warn("session network clean-up failed", { sessionId, part: part.name, err });
        }
      }
    },
  };
}
