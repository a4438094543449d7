// A worker serving several pools runs all their browsers behind one table: it may open only
// what every one of those pools allows, never what just one of them does.
import { expect, test } from "bun:test";
import { allowedByEveryPool } from "./guard";

test("the entries all pools allow, and nothing that only some allow", () => {
  expect(allowedByEveryPool([["docker-host", "10.0.0.5:443"], ["10.0.0.5:443", "10.9.0.0/16"]])).toEqual(["10.0.0.5:443"]);
  expect(allowedByEveryPool([["10.0.0.5:443"], []])).toEqual([]); // one pool without a list closes it for the worker
  expect(allowedByEveryPool([["docker-host", "docker-host"]])).toEqual(["docker-host"]); // one pool: its own list
  expect(allowedByEveryPool([])).toEqual([]); // serving nothing opens nothing
});
