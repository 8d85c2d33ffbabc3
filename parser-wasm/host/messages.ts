// Human-readable reasons for tokenizer errors. They never quote input bytes.

import * as C from '../shared/constants.ts';
import type { ParserLimits, XmlErrorCondition } from './types.ts';

export function conditionOf(code: number): XmlErrorCondition {
  switch (code) {
    case C.ERR_RESTRICTED_XML: return 'restricted-xml';
    case C.ERR_UNSUPPORTED_ENCODING: return 'unsupported-encoding';
    case C.ERR_BAD_NAMESPACE_PREFIX: return 'bad-namespace-prefix';
    case C.ERR_POLICY_VIOLATION: return 'policy-violation';
    default: return 'not-well-formed';
  }
}

export function messageOf(why: number, limits: ParserLimits): string {
  switch (why) {
    case C.WHY_UNEXPECTED_BYTE: return 'unexpected byte in markup';
    case C.WHY_INVALID_UTF8: return 'invalid UTF-8 sequence';
    case C.WHY_INVALID_CHAR: return 'character not allowed in XML 1.0';
    case C.WHY_BAD_NAME: return 'invalid element or attribute name';
    case C.WHY_TAG_MISMATCH: return 'end tag does not match the open element';
    case C.WHY_DUPLICATE_ATTRIBUTE: return 'duplicate attribute';
    case C.WHY_BAD_REFERENCE: return 'malformed character or entity reference';
    case C.WHY_CDATA_END_IN_TEXT: return "']]>' in character data";
    case C.WHY_TEXT_OUTSIDE_ELEMENT: return 'character data outside of an element';
    case C.WHY_BAD_XML_DECLARATION: return 'malformed XML declaration';
    case C.WHY_BAD_NAMESPACE_DECLARATION: return 'illegal namespace declaration';
    case C.WHY_MISSING_WHITESPACE: return 'attributes must be separated by whitespace';
    case C.WHY_TRUNCATED: return 'input ended inside an element or character';
    case C.WHY_CONTENT_AFTER_CLOSE: return 'content after the end of the stream';
    case C.WHY_DOCTYPE: return 'DOCTYPE is not allowed';
    case C.WHY_COMMENT: return 'comments are not allowed';
    case C.WHY_PROCESSING_INSTRUCTION: return 'processing instructions are not allowed';
    case C.WHY_ENTITY_REFERENCE: return 'only the five predefined entities are allowed';
    case C.WHY_MARKUP_DECLARATION: return 'markup declarations are not allowed';
    case C.WHY_UTF16: return 'only UTF-8 is supported (UTF-16 detected)';
    case C.WHY_ENCODING_DECLARED: return 'only UTF-8 is supported (other encoding declared)';
    case C.WHY_UNDECLARED_PREFIX: return 'undeclared namespace prefix';
    case C.WHY_LIMIT_STANZA_BYTES: return `stanza exceeds ${limits.maxStanzaBytes} bytes`;
    case C.WHY_LIMIT_START_TAG_BYTES: return `tag exceeds ${limits.maxStartTagBytes} bytes`;
    case C.WHY_LIMIT_ATTRIBUTES: return `element has more than ${limits.maxAttributes} attributes`;
    case C.WHY_LIMIT_DEPTH: return `elements nested deeper than ${limits.maxDepth}`;
    case C.WHY_LIMIT_ELEMENTS: return `stanza has more than ${limits.maxElementsPerStanza} elements`;
    case C.WHY_LIMIT_NAME_LENGTH: return `name or reference longer than ${limits.maxNameLength} bytes`;
    default: return 'malformed XML';
  }
}
