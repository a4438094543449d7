// Tests log only warnings and errors unless BROWSERGRID_LOG_LEVEL says otherwise.
import { setLogLevel } from "../src/lib/logger";

setLogLevel((process.env.BROWSERGRID_TEST_LOG_LEVEL as "debug" | "info" | "warn" | "error") ?? "error");
