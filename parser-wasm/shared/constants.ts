// Numbers shared by the AssemblyScript tokenizer and its TypeScript host.
// Plain integer constants only: this file is compiled by both asc and tsc/Bun/Deno.

// ---- Modes -------------------------------------------------------------------------
/** `<stream:stream>` root kept open; each depth-1 element is reported (TCP c2s/s2s). */
export const MODE_STREAM = 0;
/** Each depth-0 element is reported whole; one document after another (WebSocket, BOSH). */
export const MODE_DOCUMENT = 1;

// ---- Events returned by run() / finish() ------------------------------------------
export const EV_NEED_MORE = 0;
export const EV_STREAM_OPEN = 1;
export const EV_ELEMENT = 2;
export const EV_STREAM_CLOSE = 3;
export const EV_ERROR = 4;

// ---- Error conditions --------------------------------------------------------------
export const ERR_NONE = 0;
export const ERR_NOT_WELL_FORMED = 1;
export const ERR_RESTRICTED_XML = 2;
export const ERR_UNSUPPORTED_ENCODING = 3;
export const ERR_BAD_NAMESPACE_PREFIX = 4;
export const ERR_POLICY_VIOLATION = 5;

// ---- Error reasons (the host turns them into messages) -----------------------------
export const WHY_UNEXPECTED_BYTE = 1;
export const WHY_INVALID_UTF8 = 2;
export const WHY_INVALID_CHAR = 3;
export const WHY_BAD_NAME = 4;
export const WHY_TAG_MISMATCH = 5;
export const WHY_DUPLICATE_ATTRIBUTE = 6;
export const WHY_BAD_REFERENCE = 7;
export const WHY_CDATA_END_IN_TEXT = 8;
export const WHY_TEXT_OUTSIDE_ELEMENT = 9;
export const WHY_BAD_XML_DECLARATION = 10;
export const WHY_BAD_NAMESPACE_DECLARATION = 11;
export const WHY_MISSING_WHITESPACE = 12;
export const WHY_TRUNCATED = 13;
export const WHY_CONTENT_AFTER_CLOSE = 14;
export const WHY_DOCTYPE = 20;
export const WHY_COMMENT = 21;
export const WHY_PROCESSING_INSTRUCTION = 22;
export const WHY_ENTITY_REFERENCE = 23;
export const WHY_MARKUP_DECLARATION = 24;
export const WHY_UTF16 = 30;
export const WHY_ENCODING_DECLARED = 31;
export const WHY_UNDECLARED_PREFIX = 40;
export const WHY_LIMIT_STANZA_BYTES = 50;
export const WHY_LIMIT_START_TAG_BYTES = 51;
export const WHY_LIMIT_ATTRIBUTES = 52;
export const WHY_LIMIT_DEPTH = 53;
export const WHY_LIMIT_ELEMENTS = 54;
export const WHY_LIMIT_NAME_LENGTH = 55;

// ---- Limits (index into the stream struct's limit slots) ---------------------------
export const LIMIT_STANZA_BYTES = 0;
export const LIMIT_START_TAG_BYTES = 1;
export const LIMIT_ATTRIBUTES = 2;
export const LIMIT_DEPTH = 3;
export const LIMIT_ELEMENTS = 4;
export const LIMIT_NAME_LENGTH = 5;
export const LIMIT_COUNT = 6;
/** Hard ceilings so every offset and packed field fits its bits. */
export const MAX_STANZA_BYTES_CEILING = 1073741824; // 2^30
export const MAX_NAME_LENGTH_CEILING = 65535;      // packed in 16 bits
export const MAX_ATTRIBUTES_CEILING = 8388607;     // packed in 23 bits

// ---- Records: 8 x i32 each, offsets relative to the unit start (first byte of the element)
export const REC_I32 = 8;
export const REC_BYTES = 32;
export const REC_ELEM = 1;
export const REC_ATTR = 2;
export const REC_TEXT = 3;
export const REC_END = 4;
/** Field 0 of every record: kind in the low 8 bits, extra data above. */
export const R_KIND = 0;
// ELEM: [kind | attrCount << 8, tagStart, tagEnd, nameOff, nameLen | prefixLen << 16, nsRef, elemEnd, parent]
export const RE_TAG_START = 1;   // offset of '<'
export const RE_TAG_END = 2;     // offset just after the start tag's '>'
export const RE_NAME_OFF = 3;
export const RE_NAME = 4;        // nameLen | prefixLen << 16 (prefixLen 0: no prefix)
export const RE_NS = 5;          // namespace reference (see NS_*)
export const RE_ELEM_END = 6;    // offset just after the end tag (== tagEnd when self-closing)
export const RE_PARENT = 7;      // record index of the parent element, -1 for the unit root
// ATTR: [kind, nameOff, nameLen | prefixLen << 16, nsRef, valueOff, valueLen, flags, localHash]
export const RA_NAME_OFF = 1;
export const RA_NAME = 2;
export const RA_NS = 3;
export const RA_VALUE_OFF = 4;   // first byte inside the quotes
export const RA_VALUE_LEN = 5;
export const RA_FLAGS = 6;
export const RA_HASH = 7;
// TEXT: [kind, off, len, flags, 0, 0, 0, 0]
export const RT_OFF = 1;
export const RT_LEN = 2;
export const RT_FLAGS = 3;
// END: [kind, off, endOff, elemIndex, 0, 0, 0, 0]
export const RN_OFF = 1;
export const RN_END = 2;
export const RN_ELEM = 3;
/** Text/attribute flags. */
export const FLAG_DECODE = 1;    // contains a reference or CR/TAB/LF that decoding changes
export const FLAG_CDATA = 2;     // text from a CDATA section (literal except CR normalization)
/**
 * A byte >= 0x80 (a multi-byte UTF-8 character). Without it and without FLAG_DECODE the
 * bytes are the string, one ASCII character each: the host copies them without decoding.
 * Set where the SIMD scanners already stop for non-ASCII, so it costs the tokenizer nothing.
 */
export const FLAG_NON_ASCII = 4;

// ---- Namespace references ----------------------------------------------------------
export const NS_NONE = 0;
export const NS_XML = 1;
export const NS_XMLNS = 2;
/** First index of declarations made inside the current unit (URI table entries). */
export const NS_UNIT_BASE = 3;
/** References at or above this point name the i-th declaration of the stream header. */
export const NS_HEADER_BASE = 16777216;
// URI table entry: 4 x i32 [kind, off, len, declOff]; kind 0 = raw bytes of the unit, 1 = decoded in aux
export const URI_I32 = 4;
export const URI_RAW = 0;
export const URI_AUX = 1;

// ---- Header block (stream mode, kept while the stream is open) ---------------------
// [nameLen, declCount, (prefixOff, prefixLen, uriOff, uriLen) x declCount, bytes...]; offsets from block start
export const HB_NAME_LEN = 0;
export const HB_DECL_COUNT = 1;
export const HB_DECLS = 2;
export const HB_DECL_I32 = 4;

// ---- Stream struct (i32 slots; S_BASE is an f64 at byte offset S_BASE_BYTE) ---------
export const S_STATE = 0;
export const S_MODE = 1;
export const S_POS = 2;
export const S_UNIT_START = 3;   // -1 when no unit is open
export const S_UNIT_END = 4;
export const S_TOK_START = 5;
export const S_TEXT_START = 6;   // -1 when no text run is open
export const S_TAG_START = 7;
export const S_LIMIT_POS = 8;
export const S_LIMIT_WHY = 9;
export const S_DEPTH = 10;       // open elements, stream header included
export const S_BASE_DEPTH = 11;  // 1 while a stream header is open, else 0
export const S_QUOTE = 12;
export const S_TEXT_FLAGS = 13;
export const S_COUNTER = 14;
export const S_ELEMS = 15;
export const S_ATTRS = 16;
export const S_CUR_ELEM = 17;    // record index of the innermost open element of the unit, -1 if none
export const S_HAD_SPACE = 18;
export const S_ERR_CODE = 19;
export const S_ERR_WHY = 20;
export const S_PENDING = 21;     // work to do at the next run() (after an event was handed out)
export const S_DECL_OK = 22;     // an XML declaration may start here
export const S_HEADER = 23;      // header block pointer, 0 if none
export const S_RETURN_STATE = 24;
export const S_UNIT_DEPTH = 25;  // depth at which the unit root sits
export const S_LIMITS = 26;      // LIMIT_COUNT slots
// vectors: ptr, len (bytes), cap (bytes)
export const S_BUF = 32;
export const S_REC = 35;
export const S_SCOPE = 38;
export const S_URIS = 41;
export const S_AUX = 44;
export const V_PTR = 0;
export const V_LEN = 1;
export const V_CAP = 2;
export const VEC_COUNT = 5;
export const S_BASE_BYTE = 192;  // f64: stream offset of window byte 0
export const S_ERR_OFFSET_BYTE = 200; // f64: stream offset of the error
export const STREAM_STRUCT_BYTES = 208;
