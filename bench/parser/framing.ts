// Stanza framing for parsers that only parse complete documents (txml). A server using
// such a parser must first find where each stanza ends; this scanner does that in one
// linear pass that resumes where the last chunk stopped, so no byte is scanned twice and
// an incomplete stanza is never re-parsed. It understands just enough XML for a stream of
// restricted XML (RFC 6120 §11.1: no comments, no DTD): tags, quoted attribute values
// that may contain '>', self-closing tags and the XML declaration.

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const QUESTION = 0x3f;
const BANG = 0x21;
const APOS = 0x27;
const QUOT = 0x22;

const enum State {
  Text,
  TagStart,
  OpenTag,
  CloseTag,
  Quoted,
  Declaration,
}

export class StanzaFramer {
  private buffer = '';
  private pos = 0;
  private depth = 0;
  private state = State.Text;
  private quote = 0;
  private previous = 0;
  private stanzaStart = -1;

  /** Appends decoded text; calls `onStanza` with the source of each stanza it completes. */
  push(text: string, onStanza: (xml: string) => void): void {
    this.buffer = this.buffer === '' ? text : this.buffer + text;
    const buffer = this.buffer;
    const length = buffer.length;
    for (let i = this.pos; i < length; i++) {
      const code = buffer.charCodeAt(i);
      switch (this.state) {
        case State.Text:
          if (code === LT) {
            this.state = State.TagStart;
            if (this.depth === 1) this.stanzaStart = i;
          }
          break;
        case State.TagStart:
          if (code === SLASH) this.state = State.CloseTag;
          else if (code === QUESTION) this.state = State.Declaration;
          else if (code === BANG) throw new Error('framing: comments, CDATA and DTDs are not restricted XML');
          else this.state = State.OpenTag;
          this.previous = code;
          break;
        case State.OpenTag:
          if (code === APOS || code === QUOT) {
            this.quote = code;
            this.state = State.Quoted;
          } else if (code === GT) {
            this.state = State.Text;
            if (this.previous !== SLASH) this.depth++;
            else if (this.depth === 1) this.emit(i, onStanza);
          } else {
            this.previous = code;
          }
          break;
        case State.Quoted:
          if (code === this.quote) {
            this.state = State.OpenTag;
            this.previous = code;
          }
          break;
        case State.CloseTag:
          if (code === GT) {
            this.state = State.Text;
            if (--this.depth === 1) this.emit(i, onStanza);
          }
          break;
        case State.Declaration:
          if (code === GT && this.previous === QUESTION) this.state = State.Text;
          this.previous = code;
          break;
      }
    }
    // Keep only the unfinished stanza, if any; everything before it is done with.
    if (this.stanzaStart >= 0) {
      this.buffer = buffer.slice(this.stanzaStart);
      this.pos = length - this.stanzaStart;
      this.stanzaStart = 0;
    } else {
      this.buffer = '';
      this.pos = 0;
    }
  }

  private emit(end: number, onStanza: (xml: string) => void): void {
    onStanza(this.buffer.slice(this.stanzaStart, end + 1));
    this.stanzaStart = -1;
  }
}
