// Zip files for tests, written byte by byte so that every field a hostile archive could lie in
// (flags, method, sizes, CRC, external attributes, names) can be set on purpose.
import { deflateRawSync } from "node:zlib";

export interface ZipSpec {
  name: string;
  body?: string | Uint8Array;
  /** 0 stored, 8 deflate (default), anything else as given. */
  method?: number;
  /** General-purpose flags (bit 0: encrypted, bit 11: UTF-8 names). */
  flags?: number;
  /** A Unix mode in the external attributes (e.g. 0o120777 for a symlink); made-by is set to Unix. */
  unixMode?: number;
  /** Declared uncompressed size, if it should lie. */
  declaredSize?: number;
  crc?: number;
  /** The name written in the local header, if it should differ. */
  localName?: string;
  /** Raw bytes of the name instead of UTF-8. */
  rawName?: Uint8Array;
}

/** A zip of `entries`; `zip64Locator` puts a ZIP64 end-of-directory locator before the end record. */
export function zipOf(entries: ZipSpec[], opts: { zip64Locator?: boolean; trailing?: Uint8Array } = {}): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = typeof e.body === "string" ? Buffer.from(e.body) : Buffer.from(e.body ?? new Uint8Array());
    const method = e.method ?? 8;
    const data = method === 8 ? deflateRawSync(body) : body;
    const name = e.rawName ? Buffer.from(e.rawName) : Buffer.from(e.name, "utf8");
    const localName = e.localName !== undefined ? Buffer.from(e.localName, "utf8") : name;
    const crc = e.crc ?? Bun.hash.crc32(body);
    const size = e.declaredSize ?? body.length;
    const flags = e.flags ?? 0x0800;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(localName.length, 26);
    locals.push(local, localName, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.unixMode !== undefined ? (3 << 8) | 20 : 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(e.unixMode !== undefined ? (e.unixMode << 16) >>> 0 : e.name.endsWith("/") ? 0x10 : 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + localName.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const parts: Buffer[] = [...locals, cd];
  if (opts.zip64Locator) {
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    parts.push(loc);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  parts.push(end);
  if (opts.trailing) parts.push(Buffer.from(opts.trailing));
  return new Uint8Array(Buffer.concat(parts));
}
