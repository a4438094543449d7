import { describe, expect, test } from "bun:test";
import { BadRequest } from "../../lib/errors";
import { paramsFromText } from "./runs.deployment-section";
import { MAX_PARAMS_BYTES } from "./runs.schema";

describe("params typed on a deployment's page", () => {
  test("a JSON object is taken; empty text is {}", () => {
    expect(paramsFromText('{"url": "https://example.com", "n": 2}')).toEqual({ url: "https://example.com", n: 2 });
    expect(paramsFromText("  \n")).toEqual({});
  });

  test("anything else is a 400 that says what to write", () => {
    for (const [text, message] of [
      ["{not json", /not valid JSON/],
      ["[1, 2]", /must be a JSON object/],
      ["null", /must be a JSON object/],
      ['"text"', /must be a JSON object/],
      [`{"a": "${"x".repeat(MAX_PARAMS_BYTES)}"}`, /larger than/],
    ] as const) {
      let err: unknown;
      try {
        paramsFromText(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BadRequest);
      expect((err as BadRequest).message).toMatch(message);
      expect((err as BadRequest).status).toBe(400);
    }
  });
});
