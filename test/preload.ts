// Tests log only errors unless BROWSERGRID_TEST_LOG_LEVEL says otherwise, and whole-system
// tests (real containers, real browsers) get room beyond bun's 5 s default.
import { setDefaultTimeout } from "bun:test";
import { setLogLevel } from "../src/lib/logger";

setLogLevel((process.env.BROWSERGRID_TEST_LOG_LEVEL as "debug" | "info" | "warn" | "error") ?? "error");
setDefaultTimeout(120_000);
