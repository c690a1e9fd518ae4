/**
 * The largest convox.yml Slipway reads, in bytes (and in characters once `${VAR}`s are
 * substituted). A manifest of a thousand services is about 300 KB and parsing takes a few seconds
 * per megabyte, so a larger file is refused up front rather than tying up a deploy. Bundle
 * extraction refuses a larger convox.yml before writing it; loading refuses one before parsing.
 * Its own module, so that the extractor need not load the manifest engine to know it.
 */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
