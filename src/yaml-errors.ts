import type { YAMLError } from "yaml";

/**
 * What a YAML parse error means, without the parser's own message: that
 * message quotes the text near the fault (an alias `*s3cret` is a password
 * that begins with `*`), and the text may hold a secret.
 */
const meanings: Record<YAMLError["code"], string> = {
  ALIAS_PROPS: "an alias (*name) carries an anchor or a tag",
  BAD_ALIAS: "a value starting with * is read as an alias to an anchor that does not exist (quote values that begin with *)",
  BAD_DIRECTIVE: "a % directive is not valid",
  BAD_DQ_ESCAPE: "a double-quoted string has an invalid escape",
  BAD_INDENT: "the indentation is wrong",
  BAD_PROP_ORDER: "an anchor or tag is in the wrong place",
  BAD_SCALAR_START: "a plain value starts with a reserved character (quote it)",
  BLOCK_AS_IMPLICIT_KEY: "a block value is used as a key",
  BLOCK_IN_FLOW: "a block value is inside a [ ] or { } collection",
  DUPLICATE_KEY: "a key appears twice in the same mapping",
  IMPOSSIBLE: "the parser met an impossible state",
  KEY_OVER_1024_CHARS: "a key is longer than 1024 characters",
  MISSING_CHAR: "a closing character (quote, ] or }) is missing",
  MULTILINE_IMPLICIT_KEY: "a key spans several lines",
  MULTIPLE_ANCHORS: "a value has two anchors",
  MULTIPLE_DOCS: "the text holds several documents where one was expected",
  MULTIPLE_TAGS: "a value has two tags",
  NON_STRING_KEY: "a key is not a string",
  RESOURCE_EXHAUSTION: "aliases expand to too much data",
  TAB_AS_INDENT: "a tab is used for indentation (use spaces)",
  TAG_RESOLVE_FAILED: "a value does not match its tag",
  UNEXPECTED_TOKEN: "a character is where none is allowed (often a missing ': ' or a stray quote)",
  BAD_COLLECTION_TYPE: "a collection has the wrong type for its tag",
};

export function yamlErrorMeaning(error: Pick<YAMLError, "code">): string {
  return meanings[error.code] ?? "the text is not valid YAML";
}
